"""A report's files are one set, whatever kills the command when: on disk and in MLflow.

`tracker report` and `tracker realized` are killed with SIGKILL at 20 points each: at random
moments of the run, the moment the new files start to appear (inside the writing), and while
the finished set is being logged. After each kill, the files on disk and the set the run's
tag points to in MLflow are each one run's set: the JSON attached to the PDF is the JSON
file, and the HTML was generated at the JSON's time. A kill after the journal was written
leaves renames to finish, which the next run does before anything else; the check applies
that same repair, as every later run and reader does. After a rerun both are the new set and
nothing is left behind.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import tracker_command
from tests.helpers import client, copy_store, parent_runs, worked_example

ROOT = Path(__file__).resolve().parent.parent
KILLS = 20
# The files of a set half made: a temporary beside its target, or the set's journal.
IN_FLIGHT = re.compile(
    r"^\.(roi\.json|report\.html|report\.pdf|realized\.json|realized\.html|realized\.pdf)\..{8}$|^\.tracker-set\."
)


@dataclass(frozen=True)
class Kind:
    command: str
    files: tuple[str, str, str]  # json, html, pdf
    tag: str
    extra: tuple[str, ...]


REPORT = Kind("report", ("roi.json", "report.html", "report.pdf"), "tracker.report_set", ())
LOG = ROOT / "examples" / "production" / "term-deposit-2027.csv.gz"
SERVING = ROOT / "examples" / "production" / "cur2-serving-2027-h1.csv"
REALIZED = Kind(
    "realized",
    ("realized.json", "realized.html", "realized.pdf"),
    "tracker.realized_set",
    ("--outcomes", str(LOG), "--file", str(SERVING), "--start", "2027-01-01"),
)


@pytest.fixture(scope="module")
def _reported(tmp_path_factory: pytest.TempPathFactory, _empty_mlflow_db: Path) -> Path:
    reported = [["report", "--config", "marketing.yaml"], ["realized", "--config", "marketing.yaml", *REALIZED.extra]]
    return worked_example(
        tmp_path_factory.mktemp("report-sets"), _empty_mlflow_db, trials=2, replicates=50, then=reported
    )


def _run(workdir: Path, kind: Kind) -> subprocess.Popen[bytes]:
    command = tracker_command(kind.command, "--config", "marketing.yaml", *kind.extra)
    return subprocess.Popen(
        command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _in_flight(workdir: Path) -> bool:
    return any(IN_FLIGHT.match(name) for name in os.listdir(workdir))


def _kill_at(workdir: Path, kind: Kind, how: str, rng: random.Random, typical: float) -> bool:
    """Start the command and SIGKILL it at a point chosen by ``how``; whether files were in flight then."""
    started = time.monotonic()
    process = _run(workdir, kind)
    json_file = workdir / kind.files[0]
    before = json_file.stat().st_mtime_ns
    deadline = started + (rng.uniform(1.0, typical) if how == "anywhere" else typical * 3)
    after_commit: float | None = None
    while process.poll() is None:
        now = time.monotonic()
        if how == "writing" and _in_flight(workdir):
            time.sleep(rng.uniform(0, 0.004))
            break
        if how == "renaming" and json_file.stat().st_mtime_ns != before and _in_flight(workdir):
            break  # the JSON is renamed into place and the rest of the set is not yet
        if (
            how == "logging"
            and after_commit is None
            and json_file.stat().st_mtime_ns != before
            and not _in_flight(workdir)
        ):
            after_commit = now + rng.uniform(0, 1.5)  # the local set is complete: MLflow is being written
        if (after_commit is not None and now >= after_commit) or now >= deadline:
            break
        time.sleep(0.0005)
    flying = _in_flight(workdir)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)
    return flying


def _one_set(json_text: str, html_text: str, pdf: Path, attachment: str) -> str:
    """The set's generation time; fails unless the three files are one run's."""
    figures = json.loads(json_text)
    generated = figures["provenance"]["generated_at"]
    assert generated in html_text, "the HTML is another run's"
    attached = PdfReader(pdf).attachments[attachment][0]
    assert json.loads(attached) == figures, "the PDF carries another run's figures"
    return generated


def _local(workdir: Path, kind: Kind) -> str:
    from reports.publish import repair_files

    json_file, html, pdf = (workdir / name for name in kind.files)
    # What the next run (and so every reader through tracker) does first.
    repair_files(pdf=pdf, html=html, json_path=json_file)
    return _one_set(json_file.read_text(), html.read_text(), pdf, kind.files[0])


def _logged(workdir: Path, kind: Kind) -> str:
    [parent] = parent_runs("term-deposit-calls", workdir)
    folder = parent.data.tags[kind.tag]
    got = Path(client(workdir).download_artifacts(parent.info.run_id, folder, str(workdir / "downloaded")))
    try:
        json_file, html, pdf = (got / name for name in kind.files)
        return _one_set(json_file.read_text(), html.read_text(), pdf, kind.files[0])
    finally:
        shutil.rmtree(workdir / "downloaded")


@pytest.mark.slow
@pytest.mark.parametrize("kind", [REPORT, REALIZED], ids=lambda k: k.command)
def test_a_killed_run_leaves_one_set_on_disk_and_in_mlflow(workdir: Path, _reported: Path, kind: Kind) -> None:
    copy_store(_reported, workdir, "marketing.yaml", *REPORT.files, *REALIZED.files)
    (workdir / "examples").symlink_to(_reported / "examples")
    # The artifacts of the template's runs live in its folder; this test's runs log beside them.
    rng = random.Random(f"kill-{kind.command}")
    started = time.monotonic()
    done = _run(workdir, kind)
    assert done.wait(timeout=300) == 0
    typical = time.monotonic() - started
    first = {_local(workdir, kind), _logged(workdir, kind)}
    assert len(first) == 1

    # 8 at random moments, 7 inside the writing (4 as the files appear, 3 between the renames),
    # 5 while the finished set is being logged.
    plan = ["anywhere"] * 8 + ["writing"] * 4 + ["renaming"] * 3 + ["logging"] * 5
    inside = 0
    for how in plan:
        inside += _kill_at(workdir, kind, how, rng, typical)
        _local(workdir, kind)
        _logged(workdir, kind)
    assert inside >= 5, f"only {inside} of the kills landed while files were being written"

    rerun = _run(workdir, kind)
    assert rerun.wait(timeout=300) == 0
    assert _local(workdir, kind) == _logged(workdir, kind)  # the same, new set in both places
    assert not _in_flight(workdir), os.listdir(workdir)


KILLER = """
import os, signal, sys
from pathlib import Path
import reports.render as render

where, step = sys.argv[1], sys.argv[2]
folder = Path(where)
calls = {"n": 0}
if step == "rename":
    real = os.replace
    def replace(a, b):
        calls["n"] += 1
        if calls["n"] == 3:  # the journal, then the JSON are in place; the HTML is next
            os.kill(os.getpid(), signal.SIGKILL)
        return real(a, b)
    render.os.replace = replace
else:
    real_write = render._write_temporary
    def write(path, data):
        calls["n"] += 1
        if calls["n"] == 3:  # two temporaries written, the third not
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write(path, data)
    render._write_temporary = write
render.write_set_atomic([(folder / name, b"new " + name.encode()) for name in ("a.json", "b.html", "c.pdf")])
"""


@pytest.mark.parametrize(("step", "after_repair"), [("rename", b"new "), ("write", b"old ")])
def test_a_kill_between_the_renames_is_finished_by_the_next_run(tmp_path: Path, step: str, after_repair: bytes) -> None:
    import sys

    from reports.render import repair_set

    names = ("a.json", "b.html", "c.pdf")
    for name in names:
        (tmp_path / name).write_bytes(b"old " + name.encode())
    done = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path), step], timeout=60)
    assert done.returncode == -signal.SIGKILL
    on_disk = {name: (tmp_path / name).read_bytes() for name in names}
    if step == "rename":
        # Killed between renames: a mixed set on disk, and the journal that commits the new one.
        assert on_disk["a.json"].startswith(b"new ") and on_disk["b.html"].startswith(b"old ")
        assert (tmp_path / ".tracker-set.a.json").exists()
    repair_set([tmp_path / name for name in names])
    assert {name: (tmp_path / name).read_bytes() for name in names} == {n: after_repair + n.encode() for n in names}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no journal, no temporary left
