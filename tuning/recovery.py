"""Recovering from dead workers: their RUNNING trials failed, their runs closed or rebuilt.

A worker that dies leaves a RUNNING trial in Optuna and perhaps a RUNNING (or no) run in
MLflow. The next worker that looks fails the trial (its process is gone on this host, or
its Optuna heartbeat went silent) and makes the MLflow record agree with Optuna's.
"""

from __future__ import annotations

import os
import socket
import time
import warnings
from datetime import datetime

import optuna
from optuna.trial import FrozenTrial, TrialState

from tracker.record import layout
from tracker.record.reads import TrialRun
from tracker.record.writes import TrialEnd, TrialStart, status_for_state
from tuning.setup import SweepSetup
from tuning.storage import GRACE_SECONDS, storage_lock
from tuning.trials import cost_of

__all__ = ["fail_stale", "reconcile"]

_GONE = "the worker process ended before it closed this run (killed or crashed)"
_LOST = (
    "its worker was lost before the trial ended (its process or node is gone, or its heartbeat was silent "
    f"for over {GRACE_SECONDS} s); failed by another worker, and the study went on without it"
)
# How long a worker on another host may take to write a finished trial's run.
_OTHER_HOST_GRACE_SECONDS = 60


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reconcile(sweep: SweepSetup) -> list[str]:
    """Fail the trials and runs whose worker is gone. Returns what it did, in words."""
    notes = _fail_dead_workers(sweep.study)
    fail_stale(sweep)
    sweep.recorder.flush()
    runs: dict[int, TrialRun] = {}
    for run in sweep.record.trial_runs(sweep.experiment_id, sweep.parent_run_id):
        runs.setdefault(run.number, run)
    for trial in sweep.study.get_trials(deepcopy=False):
        if trial.state in (TrialState.RUNNING, TrialState.WAITING) or trial.user_attrs.get(layout.ATTR_SURPLUS):
            continue
        found = runs.get(trial.number)
        if found is not None and found.status != "RUNNING":
            continue
        # A live worker's writer may still be writing this run: only a gone worker's is repaired.
        if _worker_gone(trial):
            notes.append(_recover_run(sweep, trial, found))
    return notes


def fail_stale(sweep: SweepSetup) -> None:
    """Fail the RUNNING trials whose heartbeat has been silent past the grace period (Optuna's check).

    Under the sweep-wide lock: Optuna fails a trial, then queues its rerun (retry_failed_trials)
    in a second step, and a worker counting trials between the two would start a new trial
    besides the rerun, one more than the total.
    """
    with storage_lock(sweep.settings.storage, sweep.study_name), warnings.catch_warnings():
        # "Experimental since Optuna 2.9": nothing for a user to act on.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(sweep.study)


def _worker_gone(trial: FrozenTrial) -> bool:
    """Whether the process that ran ``trial`` can no longer write its run.

    On this host, its pid tells. Elsewhere nothing does, so a finished trial whose run is
    still missing after a grace period is taken as its worker's, gone with it. (Optuna keeps
    naive local times: hosts of one sweep are assumed to share a time zone.)
    """
    if trial.state == TrialState.FAIL and layout.ATTR_ERROR not in trial.user_attrs:
        return True  # failed by another worker (its heartbeat went silent), never by its own
    host, _, pid = str(trial.user_attrs.get(layout.ATTR_WORKER, "")).rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return int(pid) != os.getpid() and not _alive(int(pid))
    ended = trial.datetime_complete
    return ended is None or (datetime.now() - ended).total_seconds() > _OTHER_HOST_GRACE_SECONDS


def _local(trial: FrozenTrial) -> bool:
    """Whether the trial's worker ran on this host, where its pid tells whether it lives."""
    return str(trial.user_attrs.get(layout.ATTR_WORKER, "")).rpartition(":")[0] == socket.gethostname()


def _fail_dead_workers(study: optuna.Study) -> list[str]:
    """Fail RUNNING trials whose worker process on this host no longer exists."""
    notes: list[str] = []
    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(trial.user_attrs.get(layout.ATTR_WORKER, "")).rpartition(":")
        if worker_host == host and pid.isdigit() and not _alive(int(pid)):
            study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            notes.append(f"trial {trial.number} failed: its worker (pid {pid}) is gone")
    return notes


def _recover_run(sweep: SweepSetup, trial: FrozenTrial, run: TrialRun | None) -> str:
    """Write the run a dead worker could not, from what Optuna recorded of the trial."""
    record = sweep.record
    error = None
    if trial.state == TrialState.FAIL:
        error = str(trial.user_attrs.get(layout.ATTR_ERROR) or (_GONE if _local(trial) else _LOST))
        if run is not None:
            record.mark_run(run.run_id, status="FAILED", state="FAIL", error=_GONE if _local(trial) else _LOST)
            return f"run of trial {trial.number} marked FAILED: its worker ended without closing it"
    run_id = run.run_id if run is not None else _rebuilt_run(sweep, trial)
    metrics: dict[str, float] = {}
    if trial.values:
        metrics[sweep.metric_key] = trial.values[0]
    if trial.duration is not None:
        metrics[layout.METRIC_DURATION] = trial.duration.total_seconds()
        metrics[layout.METRIC_COST_ESTIMATED] = float(cost_of(trial, sweep.hourly_usd))
    end = TrialEnd(
        status=status_for_state(trial.state.name),
        state=trial.state.name,
        end_time=trial.datetime_complete.timestamp() if trial.datetime_complete else time.time(),
        params=trial.params,
        metrics=metrics,
        steps={sweep.metric_key: sorted(trial.intermediate_values.items())},
        error=error,
    )
    record.finish_trial_run(run_id, end)
    return f"run of trial {trial.number} rebuilt from the Optuna record (its worker ended before writing it)"


def _rebuilt_run(sweep: SweepSetup, trial: FrozenTrial) -> str:
    start = TrialStart(
        sweep.experiment_id,
        sweep.parent_run_id,
        trial.number,
        start_time=trial.datetime_start.timestamp() if trial.datetime_start else time.time(),
        tags=sweep.trial_tags,
        study=sweep.study_name,
        recovered="rebuilt from the Optuna record; only the objective value survived",
    )
    return sweep.record.start_trial_run(start)
