"""A killed sweep, an interrupted sweep, worker processes and the UI, as separate processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import tracker_command
from tests.helpers import (
    all_runs,
    by_number,
    finished,
    in_terminal,
    parent_runs,
    slow_objective_config,
    start_tracker,
    study,
    trial_runs,
    wait_for,
)

pytestmark = pytest.mark.slow


def _config(workdir: Path) -> Path:
    return slow_objective_config(workdir, "faults")


def _wait_for(path: Path, timeout: float = 60) -> None:
    wait_for(path, timeout)


def _start(args: list[str], workdir: Path, **env: str) -> subprocess.Popen[str]:
    return start_tracker(workdir, *args, merge_output=True, **env)


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _run_status(number: int, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = by_number(trial_runs("faults"))[number].info.status
        if status != "RUNNING" or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


@pytest.mark.parametrize("whole_group", [False, True], ids=["sweep-process", "process-group"])
def test_kill_9_then_rerun_continues_and_fails_the_killed_run(workdir: Path, whole_group: bool) -> None:
    config = _config(workdir)
    args = ["sweep", "--config", str(config), "--trials", "4", "--quiet"]
    first = _start(args, workdir, HANG_TRIAL="2")
    _wait_for(workdir / "hung-2")
    time.sleep(0.5)  # the trial's run is open
    if whole_group:
        # The sweep and its MLflow writer (a process of its own session) die together.
        for pid in (*_children(first.pid), first.pid):
            os.kill(pid, signal.SIGKILL)
    else:
        os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    if whole_group:
        # Nobody was left to close the run: the next sweep must repair it.
        assert by_number(trial_runs("faults"))[2].info.status == "RUNNING"
    else:
        # The writer outlives the sweep's process and fails the run it was never told to close.
        assert _run_status(2) == "FAILED"

    second = subprocess.run(tracker_command(*args), cwd=workdir, text=True, capture_output=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr

    s = study("faults")
    assert finished(s) == 4
    assert s.trials[2].state.name == "FAIL"
    runs = by_number(trial_runs("faults"))  # by_number fails if a trial has two runs
    assert sorted(runs) == [t.number for t in s.trials]
    assert runs[2].info.status == "FAILED"
    error = runs[2].data.tags["tracker.error"]
    assert (
        ("ended before it closed this run" in error) if whole_group else ("ended while this trial was running" in error)
    )
    assert all(r.info.status != "RUNNING" for r in all_runs("faults"))
    [parent] = parent_runs("faults")
    assert parent.info.status == "FINISHED"


def test_ctrl_c_stops_cleanly_with_a_summary(workdir: Path) -> None:
    config = _config(workdir)
    proc = _start(["sweep", "--config", str(config), "--trials", "5"], workdir, HANG_TRIAL="1")
    _wait_for(workdir / "hung-1")
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends on Ctrl-C
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "Sweep 'faults' stopped: interrupted by the user" in output
    assert "rerun the same command to continue" in output
    assert "Traceback" not in output
    [parent] = parent_runs("faults")
    assert parent.info.status == "KILLED"
    runs = by_number(trial_runs("faults"))
    # The interrupted trial is FAIL in Optuna and FAILED in MLflow: the two records agree.
    assert runs[1].info.status == "FAILED" and runs[1].data.tags["tracker.state"] == "FAIL"
    assert study("faults").trials[1].state.name == "FAIL"
    assert runs[1].data.tags["tracker.error"] == "interrupted by the user (Ctrl-C)"
    assert all(r.info.status != "RUNNING" for r in all_runs("faults"))


def test_jobs_runs_worker_processes_to_an_exact_total(workdir: Path) -> None:
    config = _config(workdir)
    result = subprocess.run(
        tracker_command("sweep", "--config", str(config), "--trials", "7", "--jobs", "2"),
        cwd=workdir,
        text=True,
        capture_output=True,
        timeout=300,
        env={**os.environ, "TRIAL_SECONDS": "0.2", "WAIT_FOR_WORKERS": "2"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "finished 7/7" in result.stdout
    assert finished(study("faults")) == 7
    runs = by_number(trial_runs("faults"))
    assert len(runs) == len(study("faults").trials) == 7
    workers = {r.data.tags["tracker.worker"] for r in runs.values()}
    assert len(workers) == 2, workers  # two processes shared the work
    assert all(r.info.status == "FINISHED" for r in runs.values())
    assert [p.info.status for p in parent_runs("faults")] == ["FINISHED"]


def test_a_progress_bar_on_a_terminal(workdir: Path) -> None:
    code, screen = in_terminal(
        tracker_command("sweep", "--trials", "3"),
        workdir,
        columns=120,
        env={**os.environ, "COLUMNS": "120", "TERM": "xterm"},
    )
    assert code == 0, screen
    assert "trials" in screen and "3/3" in screen and "best 0." in screen  # trial n of N, best so far
    assert "━" in screen  # the bar itself
    assert "trial 0: COMPLETE" not in screen  # no plain lines on a terminal
