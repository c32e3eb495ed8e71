"""The trial loop of one worker: ask under the sweep-wide lock, train, tell, record.

Under the lock a worker counts finished and running trials; it stops when the target of
finished trials is reached, waits when the running ones could reach it, and otherwise asks
Optuna for a trial, so the total is exact however many workers run. Then it opens the
trial's MLflow run, trains, tells Optuna and closes the run in one batch.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
import warnings
from collections.abc import Callable

import optuna
from optuna.trial import FrozenTrial, TrialState

from tracker.record import layout
from tracker.record.writes import TrialEnd, TrialStart, status_for_state
from tuning.events import SweepEvent
from tuning.objective import FunctionObjective, TrialOutcome
from tuning.objective_log import Logged, logging_to_trial
from tuning.recovery import reconcile
from tuning.setup import SweepSetup
from tuning.storage import HEARTBEAT_SECONDS, beats, storage_lock
from tuning.trials import FINISHED_STATES, best_trial, count_finished, count_running, trial_cost

__all__ = ["progress_event", "run_trial", "work"]

_POLL_SECONDS = 1.0
_INTERRUPTED = "interrupted by the user (Ctrl-C)"


def work(sweep: SweepSetup, emit: Callable[[SweepEvent], None], *, started: float) -> str:
    """Run trials until a stop condition; returns the reason in words."""
    failures = 0
    _say(emit, reconcile(sweep))
    # The time limit counts from the first trial, not from loading data and stores.
    if sweep.settings.execution.backend == "local" and sweep.settings.limits.max_parallel == 1:
        started = time.monotonic()
    last_reconcile = time.monotonic()
    done: tuple[int, TrialState] | None = None
    while True:
        with storage_lock(sweep.settings.storage, sweep.study_name):
            trials = sweep.study.get_trials(deepcopy=False)
            reason = sweep.policy.reason(trials, elapsed=time.monotonic() - started, failures=failures)
            trial = None
            if reason is None and count_finished(trials) + count_running(trials) < sweep.target:
                trial = _ask(sweep.study, sweep.worker)
        if done is not None:
            # The last trial's progress, from this same read: one scan of the study per trial, not two.
            emit(progress_event(sweep, trials, *done))
            done = None
        if reason is not None:
            return reason
        if trial is not None and not sweep.locked and _surplus(sweep, trial):
            trial = None
        if trial is None:
            # Others are running the last trials; wait in case one of them fails.
            time.sleep(_POLL_SECONDS)
            if time.monotonic() - last_reconcile > HEARTBEAT_SECONDS:
                _say(emit, reconcile(sweep))
                last_reconcile = time.monotonic()
            continue
        state = run_trial(sweep, trial)
        failures = failures + 1 if state == TrialState.FAIL else 0
        done = (trial.number, state)


def _say(emit: Callable[[SweepEvent], None], notes: list[str]) -> None:
    for note in notes:
        emit(SweepEvent("info", note))


def _ask(study: optuna.Study, worker: str) -> optuna.Trial:
    with warnings.catch_warnings():
        # We record heartbeats ourselves around ask/tell, which Optuna warns it did not expect.
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed", category=UserWarning)
        trial = study.ask()
    trial.set_user_attr(layout.ATTR_WORKER, worker)
    return trial


def progress_event(sweep: SweepSetup, trials: list[FrozenTrial], number: int, state: TrialState) -> SweepEvent:
    frozen = next((t for t in trials if t.number == number), None)
    best = best_trial(trials, sweep.direction)
    error = frozen.user_attrs.get(layout.ATTR_ERROR) if frozen is not None else None
    return SweepEvent(
        "trial",
        # A failed trial says why, in one line: the exception's type and message.
        message=str(error).splitlines()[0][:300] if error else "",
        number=number,
        state=state.name,
        value=(frozen.values[0] if frozen is not None and frozen.values else None),
        best_value=best.values[0] if best is not None else None,
        finished=count_finished(trials),
        target=sweep.target,
        worker=sweep.worker_index,
    )


def _surplus(sweep: SweepSetup, trial: optuna.Trial) -> bool:
    """Without a lock (gRPC proxy, MySQL), two workers may both have asked for the last trial.

    The one whose trial comes after ``target`` finished-or-running trials gives it back as a
    failed trial marked ``surplus``, before any training or MLflow run, so the total stays exact.
    """
    states = (*FINISHED_STATES, TrialState.RUNNING)
    ahead = sum(t.number < trial.number and t.state in states for t in sweep.study.get_trials(deepcopy=False))
    if ahead < sweep.target:
        return False
    trial.set_user_attr(layout.ATTR_SURPLUS, True)
    sweep.study.tell(trial, state=TrialState.FAIL)
    return True


def _train(sweep: SweepSetup, trial: optuna.Trial) -> tuple[TrialState, TrialOutcome | None, str | None]:
    """Run the objective under a heartbeat: the state it ended in, what it measured, its error."""
    beat = _Heartbeat(sweep.storage, trial._trial_id)
    beat.start()
    try:
        outcome = sweep.objective(trial)
    except optuna.TrialPruned:
        return TrialState.PRUNED, None, None
    except KeyboardInterrupt:
        return TrialState.FAIL, None, _INTERRUPTED
    except SystemExit as exc:
        # sys.exit() in an objective ends that trial, not the sweep.
        return TrialState.FAIL, None, f"the objective called sys.exit({exc.code!r}); return a value or raise instead"
    except Exception as exc:  # a trial that raises is recorded, and the sweep goes on
        return TrialState.FAIL, None, f"{type(exc).__name__}: {exc}"
    finally:
        beat.stop()
    value = outcome.metrics.get(sweep.metric_key)
    if value is None or not math.isfinite(value):
        return TrialState.FAIL, outcome, f"the objective returned no finite {sweep.metric_key}"
    return TrialState.COMPLETE, outcome, None


def run_trial(sweep: SweepSetup, trial: optuna.Trial) -> TrialState:
    """One trial from its MLflow run's start to its end; a Ctrl-C is re-raised once it is recorded."""
    start = time.time()
    sweep.recorder.start(
        TrialStart(
            sweep.experiment_id,
            sweep.parent_run_id,
            trial.number,
            start_time=start,
            tags={**sweep.trial_tags, **sweep.placement, **_retry_tag(sweep, trial)},
            study=sweep.study_name,
            worker=sweep.worker,
        )
    )
    with _objective_logging(sweep, trial.number) as logged:
        state, outcome, error = _train(sweep, trial)
    metrics = outcome.metrics if outcome is not None else {}
    duration = time.time() - start
    cost = trial_cost(duration, sweep.hourly_usd)
    # Kept in Optuna too, so the sweep's total and budget add up the same figures.
    trial.set_user_attr(layout.ATTR_COST, str(cost))
    if error is not None:
        trial.set_user_attr(layout.ATTR_ERROR, error[:2000])
    if state == TrialState.COMPLETE:
        value = metrics[sweep.metric_key]
        frozen = sweep.study.tell(trial, [value, float(cost)] if sweep.multi_objective else value)
    else:
        frozen = sweep.study.tell(trial, state=state)
    interrupted = error == _INTERRUPTED
    steps = sorted(frozen.intermediate_values.items()) or list(outcome.steps if outcome else ())
    # An interrupted trial is FAIL in Optuna, so its run is FAILED too: the two records agree.
    sweep.recorder.finish(
        trial.number,
        TrialEnd(
            status=status_for_state(state.name),
            state=state.name,
            end_time=time.time(),
            # Optuna's value of a parameter wins over one the objective logged under the same name.
            params={**logged.params, **frozen.params},
            metrics={**metrics, layout.METRIC_DURATION: duration, layout.METRIC_COST_ESTIMATED: float(cost)},
            steps={sweep.metric_key: steps},
            error=error,
            tags={**_user_attr_tags(frozen), **logged.tags},
            logged_metrics=logged.metrics,
            artifacts=logged.artifacts,
        ),
    )
    if interrupted:
        sweep.recorder.flush()
        raise KeyboardInterrupt
    return state


def _retry_tag(sweep: SweepSetup, trial: optuna.Trial) -> dict[str, str]:
    """A trial that reruns one failed by its silent heartbeat says which (retry_failed_trials)."""
    if not sweep.settings.execution.retry_failed_trials:
        return {}  # no reruns: spare the storage a read per trial
    # Where Optuna's RetryHeartbeatStaleTrialCallback names the trial it repeats.
    first = sweep.storage.get_trial(trial._trial_id).system_attrs.get("failed_trial")
    return {layout.TAG_RETRY_OF: str(first)} if first is not None else {}


def _objective_logging(sweep: SweepSetup, number: int) -> contextlib.AbstractContextManager[Logged]:
    """A function objective's own MLflow calls go to its trial's run; a built-in one makes none."""
    if isinstance(sweep.objective, FunctionObjective):
        return logging_to_trial(sweep.experiment_id, number)
    return contextlib.nullcontext(Logged())


# The attributes a worker sets on each trial for itself; the others are the objective's.
_OWN_ATTRS = {layout.ATTR_WORKER, layout.ATTR_COST, layout.ATTR_ERROR, layout.ATTR_SURPLUS, layout.ATTR_WARM_START}


def _user_attr_tags(trial: FrozenTrial) -> dict[str, str]:
    """``trial.set_user_attr`` values, as tags of the trial's run (JSON where not text)."""
    return {
        key: value if isinstance(value, str) else json.dumps(value, default=str)
        for key, value in trial.user_attrs.items()
        if key not in _OWN_ATTRS and not key.startswith(layout.OWN_TAG_PREFIXES)
    }


class _Heartbeat:
    """Records the trial's heartbeat so other workers can tell it is alive."""

    def __init__(self, storage: optuna.storages.BaseStorage, trial_id: int) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not beats(storage := self._storage):
            return
        storage.record_heartbeat(self._trial_id)  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._beat, name="optuna-heartbeat", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                self._storage.record_heartbeat(self._trial_id)  # type: ignore[attr-defined]
            except Exception:  # a missed beat is retried; the trial itself decides the outcome
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEARTBEAT_SECONDS + 1)
