"""Reading the MLflow record back the way a user would see it in the UI."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import yaml
from mlflow.entities import Run
from mlflow.tracking import MlflowClient


def client(folder: Path | None = None) -> MlflowClient:
    # Absolute: MLflow caches stores by URI, and tests change the working directory.
    uri = f"sqlite:///{(folder or Path.cwd()) / 'mlflow.db'}"
    return MlflowClient(uri)


def all_runs(experiment: str = "tracker-demo", folder: Path | None = None) -> list[Run]:
    c = client(folder)
    exp = c.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment}"
    return list(c.search_runs([exp.experiment_id], max_results=5000))


def parent_runs(experiment: str = "tracker-demo", folder: Path | None = None) -> list[Run]:
    return [r for r in all_runs(experiment, folder) if r.data.tags.get("tracker.role") == "sweep"]


def trial_runs(experiment: str = "tracker-demo", folder: Path | None = None) -> list[Run]:
    return [r for r in all_runs(experiment, folder) if r.data.tags.get("tracker.role") == "trial"]


def study(name: str = "tracker-demo", storage: str | None = None) -> optuna.Study:
    from tuning.storage import open_storage

    return optuna.load_study(study_name=name, storage=open_storage(storage or str(Path.cwd() / "optuna.journal")))


def finished(study_: optuna.Study) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study_.get_trials(deepcopy=False, states=states))


def by_number(runs: list[Run]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for run in runs:
        number = int(run.data.tags["tracker.trial_number"])
        assert number not in out, f"trial {number} has two runs"
        out[number] = run
    return out


# A function objective for the fault and scale tests: it marks each trial's start with a file,
# sleeps TRIAL_SECONDS, and hangs (once) on trial HANG_TRIAL, so a test can kill it mid-trial.
# With WAIT_FOR_WORKERS=n, each trial waits until n worker processes have started one, so a
# test of sharing never depends on which worker's start-up wins the race.
SLOW_OBJECTIVE = """
import os, time
from pathlib import Path

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    Path(f"started-{trial.number}").touch()
    hang = os.environ.get("HANG_TRIAL")
    if hang is not None and trial.number == int(hang) and not Path(f"hung-{hang}").exists():
        Path(f"hung-{hang}").touch()
        time.sleep(300)
    need = int(os.environ.get("WAIT_FOR_WORKERS", "0"))
    if need:  # a barrier: no worker goes past its first trial until `need` workers have one
        Path(f"worker-{os.getpid()}").touch()
        deadline = time.time() + 120
        while len(list(Path().glob("worker-*"))) < need and time.time() < deadline:
            time.sleep(0.05)
    time.sleep(float(os.environ.get("TRIAL_SECONDS", "0.2")))
    return x
"""


def slow_objective_config(folder: Path, experiment: str) -> Path:
    """``slowobjective.py`` and a config that sweeps it at random, in ``folder``."""
    (folder / "slowobjective.py").write_text(SLOW_OBJECTIVE)
    path = folder / "slow.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "experiment": experiment,
                "objective": {"function": "slowobjective:objective", "metric": "x", "direction": "maximize"},
                "strategy": "random",
            }
        )
    )
    return path


def wait_for(path: Path, timeout: float = 90) -> None:
    """Until ``path`` exists: the marker a slow objective leaves when a trial starts or hangs."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path.name} did not appear in {timeout} s")
        time.sleep(0.05)


def start_tracker(workdir: Path, *args: str, merge_output: bool = False, **env: str) -> subprocess.Popen[str]:
    """``python -m tracker ARGS`` as a user starts it, in its own process group (for signals)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tracker", *args],
        cwd=workdir,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_output else subprocess.PIPE,
        env={**os.environ, **env},
        start_new_session=True,
    )


def swept_template(folder: Path, empty_store: Path, commands: list[list[str]]) -> Path:
    """Run ``tracker`` ``commands`` once in ``folder`` (a module's template store) and return it.

    Tests that only read a swept store copy its databases with :func:`copy_store` instead of
    sweeping again. The runs' artifacts stay in the template folder (MLflow keeps their
    absolute paths), which tests on one xdist worker share one after another.
    """
    from click.testing import CliRunner

    from tracker.cli import cli

    shutil.copy(empty_store, folder / "mlflow.db")
    here = Path.cwd()
    os.chdir(folder)
    # Outside any test's own environment: a tracking URI a test's code left set must not steer it.
    leftover = os.environ.pop("MLFLOW_TRACKING_URI", None)
    try:
        for command in commands:
            result = CliRunner().invoke(cli, command, catch_exceptions=False)
            assert result.exit_code == 0, result.output
    finally:
        os.chdir(here)
        if leftover is not None:
            os.environ["MLFLOW_TRACKING_URI"] = leftover
    for name in ("mlflow.db", "optuna.db"):
        if (folder / name).exists():
            # The writer keeps SQLite's write-ahead log: fold it into the file that is copied.
            with sqlite3.connect(folder / name) as connection:
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return folder


def copy_store(template: Path, workdir: Path, *also: str) -> None:
    """The template's MLflow database and Optuna study (and ``also`` files) into ``workdir``.

    With each database goes its write-ahead log, if one is left: a checkpoint cannot fold it
    in while this process still holds MLflow's pooled connections to the template.
    """
    for name in ("mlflow.db", "mlflow.db-wal", "optuna.journal", "optuna.db", "optuna.db-wal", *also):
        if (template / name).exists():
            shutil.copy(template / name, workdir / name)


def as_printed(key: str, figures: dict[str, Any]) -> str:
    """A report's JSON figure as the PDF and the terminal print it: grouped, percents as percents."""
    from decimal import Decimal

    from tracker.money import grouped

    value = Decimal(figures[key])
    if key == "probability_npv_positive":
        return f"{grouped(value * 100, 1).removesuffix('.0')}%"
    if key.endswith("_percent"):
        return f"{grouped(value, 0)}%"
    if key.startswith("payback"):
        return f"{value} months"
    return grouped(value)


def worked_example(
    folder: Path, empty_store: Path, *, trials: int, replicates: int, then: list[list[str]] | None = None
) -> Path:
    """``examples/`` and the worked example's config (``marketing.yaml``, ``trials`` trials and
    ``replicates`` Monte Carlo replicates) in ``folder``, swept once, then ``then``'s commands."""
    root = Path(__file__).resolve().parent.parent
    shutil.copytree(root / "examples", folder / "examples")
    data = yaml.safe_load((root / "examples" / "marketing.yaml").read_text())
    data["limits"]["max_trials"] = trials
    data["roi"]["bootstrap_replicates"] = replicates
    # Its paths are relative to examples/, where it lives; this copy sits one folder up.
    data["objective"]["dataset"] = f"examples/{data['objective']['dataset']}"
    data["cost"]["file"] = f"examples/{data['cost']['file']}"
    (folder / "marketing.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return swept_template(folder, empty_store, [["sweep", "--config", "marketing.yaml", "--quiet"], *(then or [])])


MM = 72 / 25.4
# The reports' page box (reports/templates/report.css): margins 22 mm top, 18 mm sides, 20 mm bottom.
TOP, SIDE, BOTTOM = 22 * MM, 18 * MM, 20 * MM
# A number a finance reader would not print: 4+ digits before the point without a separator, or 6+ after it.
RAW_NUMBER = re.compile(r"(?<![\w,.])\d{4,}\.\d+|\d+\.\d{6,}")


def pages_inside_margins(pdf_path: Path) -> list[str]:
    """Each page's text, after checking it as a reader would: no character and no ink past a side
    margin, and no page but the last under a third full."""
    import pdfplumber

    texts = []
    with pdfplumber.open(pdf_path) as pdf:
        pages = list(pdf.pages)
        for number, page in enumerate(pages, 1):
            texts.append(page.extract_text())
            width, height = page.width, page.height
            body = [c for c in page.chars if TOP - 2 < c["top"] and c["bottom"] < height - BOTTOM + 2]
            # No character beyond a side margin.
            beyond = [c["text"] for c in body if c["x0"] < SIDE - 1 or c["x1"] > width - SIDE + 1]
            assert not beyond, f"page {number}: {''.join(beyond)!r} runs past a margin"
            # No page under a third full, except the last.
            lowest = max((c["bottom"] for c in body), default=TOP)
            if number < len(pages):
                assert (lowest - TOP) / (height - TOP - BOTTOM) > 1 / 3, f"page {number} is under a third full"
            # The page as a picture: the side margins hold no ink (a chart or a rule past them too).
            image = page.to_image(resolution=50).original.convert("L")
            px = image.width / width
            strip = [
                image.getpixel((x, y))
                for y in range(int(TOP * px), int((height - BOTTOM) * px))
                for x in (*range(0, int(SIDE * px) - 2), *range(int((width - SIDE) * px) + 2, image.width))
            ]
            assert min(strip) > 240, f"page {number}: ink in a side margin"
    return texts


def in_terminal(command: list[str], cwd: Path, *, columns: int, env: dict[str, str]) -> tuple[int, str]:
    """Run ``command`` in a pseudo-terminal ``columns`` wide, as a person's terminal runs it:
    its exit code and everything it printed there."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    proc = subprocess.Popen(
        command, cwd=cwd, stdin=follower, stdout=follower, stderr=follower, env=env, start_new_session=True
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not data:
            break
        chunks.append(data)
    code = proc.wait(timeout=120)
    os.close(leader)
    return code, b"".join(chunks).decode(errors="replace").replace("\r\n", "\n")


def processes_marked(mark: str) -> list[int]:
    """The live processes whose environment carries ``mark``: all that a command started inherit it."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if mark.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found
