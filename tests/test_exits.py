"""Every way a command ends, as a user meets it: an error that exits, SIGTERM like Ctrl-C,
plain text where colour is unwanted, a pipe read once, a label in any script drawn quietly."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port, tracker_command
from tests.helpers import copy_store, start_tracker, worked_example

ROOT = Path(__file__).resolve().parent.parent
# A command that has printed its error and not ended within this has hung.
HANG = 30
# A whole report that sets a test up: real work, given room on a busy machine.
WORK = 300
LOG = ROOT / "examples" / "production" / "term-deposit-2027.csv.gz"
SERVING = ROOT / "examples" / "production" / "cur2-serving-2027-h1.csv"


@pytest.fixture(scope="module")
def _swept(tmp_path_factory: pytest.TempPathFactory, _empty_mlflow_db: Path) -> Path:
    return worked_example(tmp_path_factory.mktemp("exits"), _empty_mlflow_db, trials=2, replicates=50)


@pytest.fixture
def example(workdir: Path, _swept: Path) -> Path:
    copy_store(_swept, workdir, "marketing.yaml")
    (workdir / "examples").symlink_to(_swept / "examples")
    return workdir / "marketing.yaml"


def _edit(config: Path, section: str, **values: object) -> None:
    data = yaml.safe_load(config.read_text())
    for key, value in values.items():
        if value is None:
            data[section].pop(key, None)
        else:
            data[section][key] = value
    config.write_text(yaml.safe_dump(data, sort_keys=False))


def _tracker(workdir: Path, *args: str, timeout: float = HANG) -> subprocess.CompletedProcess[str]:
    return subprocess.run(tracker_command(*args), cwd=workdir, capture_output=True, text=True, timeout=timeout)


def test_an_idle_thread_pool_a_library_left_open_does_not_hold_the_exit(tmp_path: Path) -> None:
    script = (
        "import concurrent.futures\n"
        "from tracker.cli._group import _end_process\n"
        "pool = concurrent.futures.ThreadPoolExecutor(2)\n"
        "pool.submit(lambda: 1).result()\n"
        "_end_process(2)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], timeout=HANG, cwd=tmp_path)
    assert done.returncode == 2


@pytest.mark.slow
@pytest.mark.parametrize("currency", ["DOLLARS", "€"])
def test_a_currency_the_bill_does_not_use_is_one_line_and_the_command_ends(
    workdir: Path, example: Path, currency: str
) -> None:
    _edit(example, "roi", currency=currency)
    done = _tracker(workdir, "report", "--config", str(example))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert f"roi.currency is {currency} but the spend is in USD" in line


@pytest.mark.slow
def test_realized_without_a_logged_report_or_values_is_one_line_and_ends(workdir: Path, example: Path) -> None:
    _edit(example, "roi", action=None, running_cost_from=None, running_cost_per_month=300)
    done = _tracker(workdir, "realized", "--config", str(example), "--outcomes", str(LOG), "--file", str(SERVING))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert "roi.value_per_outcome: required for a classifier" in line


def _signalled(process: subprocess.Popen[str], after: float, sig: int = signal.SIGTERM) -> tuple[str, str]:
    time.sleep(after)
    process.send_signal(sig)
    return process.communicate(timeout=HANG * 2)


def test_sigterm_stops_the_grpc_proxy_like_ctrl_c(workdir: Path) -> None:
    pytest.importorskip("grpc")
    port = free_port()
    proxy = start_tracker(workdir, "grpc-proxy", "--storage", f"sqlite:///{workdir / 'o.db'}", "--port", str(port))
    assert proxy.stdout is not None
    ready = proxy.stdout.readline()
    assert "Optuna gRPC storage proxy" in ready, ready
    proxy.send_signal(signal.SIGTERM)
    out, err = proxy.communicate(timeout=HANG * 2)
    assert proxy.returncode == 130, out + err
    assert err.strip().splitlines() == ["interrupted"]


@pytest.mark.slow
@pytest.mark.parametrize("command", ["report", "realized"])
def test_sigterm_ends_a_report_like_ctrl_c_and_keeps_the_old_files(workdir: Path, example: Path, command: str) -> None:
    args = ["--outcomes", str(LOG), "--file", str(SERVING)] if command == "realized" else []
    if command == "realized":
        assert _tracker(workdir, "report", "--config", str(example), timeout=WORK).returncode == 0
    process = start_tracker(workdir, command, "--config", str(example), *args)
    out, err = _signalled(process, after=1.5)
    assert process.returncode == 130, out + err
    assert err.strip().splitlines() == ["interrupted"]
    assert "Traceback" not in out + err


@pytest.mark.slow
def test_no_color_in_a_terminal_prints_plain_text(workdir: Path, example: Path) -> None:
    def in_a_terminal(**env: str) -> bytes:
        main, child = pty.openpty()
        process = subprocess.Popen(
            tracker_command("runs", "--config", str(example)),
            cwd=workdir,
            stdin=child,
            stdout=child,
            stderr=child,
            env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "160", **env},
        )
        os.close(child)
        chunks = []
        while True:
            ready, _, _ = select.select([main], [], [], HANG)
            if not ready:
                break
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=HANG)
        os.close(main)
        assert process.returncode == 0
        return b"".join(chunks)

    os.environ.pop("NO_COLOR", None)
    assert b"\x1b[" in in_a_terminal()  # a terminal gets the table's styles...
    plain = in_a_terminal(NO_COLOR="1")
    assert b"\x1b[" not in plain and b"trial" in plain  # ...unless NO_COLOR says otherwise


@pytest.mark.slow
def test_a_label_in_another_script_is_drawn_without_a_warning(workdir: Path, example: Path) -> None:
    _edit(example, "roi", one_off_costs=[{"name": "数据科学家 (三周)", "amount": 9000, "spent": True}])
    done = _tracker(workdir, "report", "--config", str(example), timeout=WORK)
    assert done.returncode == 0, done.stderr
    assert "Glyph" not in done.stderr and "Warning" not in done.stderr, done.stderr


@pytest.mark.slow
def test_a_log_given_through_a_pipe_is_read_once(workdir: Path, example: Path) -> None:
    import gzip

    assert _tracker(workdir, "report", "--config", str(example), timeout=WORK).returncode == 0
    fifo = workdir / "log.pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(gzip.decompress(LOG.read_bytes()))

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    done = _tracker(workdir, "realized", "--config", str(example), "--outcomes", str(fifo), "--file", str(SERVING))
    writer.join(timeout=HANG)
    assert done.returncode == 0, done.stderr
    assert "Wrote realized.json" in done.stdout
