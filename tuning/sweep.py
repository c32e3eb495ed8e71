"""The sweep: Optuna asks, a trial trains, MLflow records, until a limit is reached.

One loop serves every layout. ``run_sweep`` runs it in this process (``--jobs 1``) or
in N spawned worker processes that share the storage (``--jobs N``); several machines
running ``tracker sweep`` on one storage are simply more workers. Each worker:

1. under the sweep-wide lock, counts finished and running trials; stops when the target
   of finished trials is reached, waits when the running ones could reach it, and
   otherwise asks Optuna for a trial (so the total is exact however many workers run);
2. opens the trial's MLflow run, trains, tells Optuna, closes the run in one batch.

A worker that dies leaves a RUNNING trial and run; they are failed by the next worker
that looks (its process is gone on this host, or its Optuna heartbeat went silent).
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import queue as queue_module
import socket
import threading
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from tracker.config import Settings
from tracker.errors import TrackerError
from tracker.money import estimated_cost
from tracker.runs import RunStore, TrialRecorder, TrialRun, status_for_state
from tuning.objective import BuiltinObjective, FunctionObjective, build_objective
from tuning.space import grid_of, grid_size
from tuning.storage import HEARTBEAT_SECONDS, open_storage, storage_lock, storage_locks
from tuning.strategy import make_pruner, make_sampler

__all__ = ["BestTrial", "SweepEvent", "SweepSummary", "run_sweep", "trial_cost"]

FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class SweepEvent:
    """Progress, sent after each trial (``kind="trial"``) or to say something (``"info"``)."""

    kind: str
    message: str = ""
    number: int | None = None
    state: str | None = None
    value: float | None = None
    best_value: float | None = None
    finished: int = 0
    target: int = 0
    worker: int = 0


@dataclass(frozen=True)
class BestTrial:
    number: int
    value: float
    params: dict[str, Any]
    metrics: dict[str, float]
    run_id: str | None


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did, for the CLI's closing lines and for tests."""

    experiment: str
    experiment_id: str
    study: str
    parent_run_id: str
    tracking_uri: str
    metric_key: str
    direction: str
    target: int
    counts: dict[str, int]
    best: BestTrial | None
    pareto: tuple[int, ...]
    stop_reason: str
    elapsed_seconds: float
    cost_usd_estimated: Decimal
    interrupted: bool = False
    first_error: str | None = None
    champion_version: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def trial_cost(duration: timedelta | float | None, hourly_usd: Decimal) -> Decimal:
    """Estimated cost of a trial: hours x price per hour (already times instance count)."""
    if duration is None:
        return Decimal(0)
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else duration
    return estimated_cost(seconds, hourly_usd)


def _quiet_optuna() -> None:
    # We record heartbeats ourselves around ask/tell, which Optuna warns it did not expect.
    warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed", category=UserWarning)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _Sweep:
    """One process's view of the sweep: the study, the objective and the MLflow record."""

    def __init__(
        self,
        settings: Settings,
        *,
        hourly_usd: Decimal,
        worker_index: int = 0,
        runs: RunStore | None = None,
        recorder: TrialRecorder | None = None,
    ) -> None:
        self.runs = runs if runs is not None else RunStore.open(settings.tracking_uri)
        # Started first: the writer process imports MLflow while this one loads the data.
        self.recorder = recorder if recorder is not None else TrialRecorder(self.runs)
        try:
            self._setup(settings, hourly_usd, worker_index)
        except BaseException:
            self.recorder.close()
            raise

    def _setup(self, settings: Settings, hourly_usd: Decimal, worker_index: int) -> None:
        self.settings = settings
        self.hourly_usd = hourly_usd
        self.worker_index = worker_index
        objective_config = settings.objective
        self.objective: BuiltinObjective | FunctionObjective = build_objective(
            objective_config, settings.search_space, seed=settings.seed
        )
        self.metric_key = self.objective.metric_key
        self.direction = objective_config.resolved_direction
        self.multi_objective = objective_config.minimize_cost
        # Optuna keeps intermediate values for single-objective studies only.
        self.objective.report_steps = not self.multi_objective
        space = settings.search_space or (
            self.objective.space if isinstance(self.objective, BuiltinObjective) else None
        )
        grid = grid_of(space) if settings.strategy == "grid" and space else None
        if settings.strategy == "grid" and grid is None:
            raise TrackerError("strategy: grid needs a search_space in the config for a function objective")
        self.grid_size = grid_size(grid) if grid else None
        self.target = min(settings.limits.max_trials, self.grid_size or settings.limits.max_trials)
        pruner = make_pruner(settings.strategy, settings.early_stopping, multi_objective=self.multi_objective)
        self.locked = storage_locks(settings.storage)
        self.experiment_id = self.runs.ensure_experiment(settings.experiment)
        study_name = settings.study_name
        directions = [self.direction, "minimize"] if self.multi_objective else [self.direction]
        with storage_lock(settings.storage, study_name):
            # Inside the lock: the first worker on a new database creates Optuna's tables alone.
            self.storage = open_storage(settings.storage)
            try:
                self.study = optuna.create_study(
                    study_name=study_name,
                    storage=self.storage,
                    pruner=pruner,
                    directions=directions,
                    load_if_exists=True,
                )
            except ValueError as exc:
                raise TrackerError(
                    f"study {study_name!r} in {settings.storage} was created with other objectives: {exc}; "
                    "choose another --study"
                ) from exc
            existing = len(self.study.get_trials(deepcopy=False))
            if existing == 0 and settings.warm_start is not None:
                self._warm_start()
            # Seeded, but not the same draws as a previous run of this study or another worker.
            seed = settings.seed + worker_index + 7919 * existing
            if not settings.storage.startswith("sqlite"):
                seed += os.getpid()
            self.study.sampler = make_sampler(settings.strategy, seed=seed, grid=grid)
            parent = self.runs.find_sweep_run(self.experiment_id, study_name)
            if parent is None:
                parent = self.runs.create_sweep_run(
                    self.experiment_id, study_name, params=self._sweep_params(), tags=self._sweep_tags()
                )
            self.parent_run_id = parent
        self.run_tags = {**settings.tags}

    def _sweep_params(self) -> dict[str, Any]:
        s = self.settings
        o = s.objective
        return {
            "study": s.study_name,
            "strategy": s.strategy,
            "early_stopping": s.early_stopping,
            "max_trials": s.limits.max_trials,
            "max_parallel": s.limits.max_parallel,
            "max_runtime_seconds": s.limits.max_runtime_seconds,
            "budget_usd": s.limits.budget_usd,
            "target_value": s.completion.target_value,
            "max_trials_without_improvement": s.completion.max_trials_without_improvement,
            "objective": o.function or o.resolved_trainer,
            "dataset": None if o.function else o.dataset,
            "metric": o.metric,
            "direction": self.direction,
            "minimize_cost": o.minimize_cost,
            "seed": s.seed,
            "instance_type": s.compute.instance_type,
            "instance_count": s.compute.instance_count,
            "hourly_usd": self.hourly_usd,
        }

    def _sweep_tags(self) -> dict[str, str]:
        return {
            **self.settings.tags,
            "tracker.metric": self.metric_key,
            "tracker.direction": self.direction,
            "tracker.task": getattr(self.objective, "task", None) or "custom",
            "mlflow.note.content": f"Optuna study {self.settings.study_name!r}, {self.settings.strategy} strategy",
        }

    def _warm_start(self) -> None:
        warm = self.settings.warm_start
        assert warm is not None
        try:
            parent = optuna.load_study(study_name=warm.from_study, storage=self.storage)
        except KeyError as exc:
            raise TrackerError(
                f"warm_start.from_study: no study {warm.from_study!r} in {self.settings.storage}"
            ) from exc
        done = [t for t in parent.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
        reverse = self.direction == "maximize"
        done.sort(key=lambda t: t.values[0], reverse=reverse)
        for trial in done[: warm.top_k]:
            self.study.enqueue_trial(
                dict(trial.params), user_attrs={"warm_start_from": f"{warm.from_study}#{trial.number}"}
            )

    # -- counting and stopping ----------------------------------------------------------

    def trials(self) -> list[FrozenTrial]:
        return self.study.get_trials(deepcopy=False)

    def best_so_far(self, trials: list[FrozenTrial]) -> float | None:
        values = [t.values[0] for t in trials if t.state == TrialState.COMPLETE and t.values]
        if not values:
            return None
        return max(values) if self.direction == "maximize" else min(values)

    def cost_of(self, trial: FrozenTrial) -> Decimal:
        """The trial's estimated cost as its worker logged it (else from Optuna's timestamps)."""
        logged = trial.user_attrs.get("cost_usd_estimated")
        if logged is not None:
            return Decimal(str(logged))
        return trial_cost(trial.duration, self.hourly_usd)

    def spent(self, trials: list[FrozenTrial]) -> Decimal:
        return sum((self.cost_of(t) for t in trials if t.state != TrialState.RUNNING), Decimal(0))

    def stop_reason(self, trials: list[FrozenTrial], *, started: float, failures: int) -> str | None:
        limits, completion = self.settings.limits, self.settings.completion
        finished = sum(t.state in FINISHED_STATES for t in trials)
        if finished >= self.target:
            if self.grid_size is not None and self.target == self.grid_size:
                return f"every point of the grid ({self.grid_size}) was tried"
            return f"reached {self.target} finished trials"
        if limits.max_runtime_seconds is not None and time.monotonic() - started >= limits.max_runtime_seconds:
            return f"time limit of {limits.max_runtime_seconds:g} s reached"
        if failures >= self.target:
            return f"{failures} trials in a row failed; giving up"
        best = self.best_so_far(trials)
        if completion.target_value is not None and best is not None and not self.multi_objective:
            hit = best >= completion.target_value if self.direction == "maximize" else best <= completion.target_value
            if hit:
                return f"target value {completion.target_value:g} reached ({best:.6g})"
        patience = completion.max_trials_without_improvement
        if patience is not None and not self.multi_objective:
            done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
            done.sort(key=lambda t: t.number)
            if len(done) > patience:
                before = done[: len(done) - patience]
                recent = done[len(done) - patience :]
                best_before = (max if self.direction == "maximize" else min)(t.values[0] for t in before)
                improved = any(
                    (t.values[0] > best_before) if self.direction == "maximize" else (t.values[0] < best_before)
                    for t in recent
                )
                if not improved:
                    return f"no improvement in the last {patience} trials"
        budget = limits.budget_usd
        if budget is not None:
            costs = [self.cost_of(t) for t in trials if t.state != TrialState.RUNNING and t.duration]
            spent = sum(costs, Decimal(0))
            next_cost = (spent / len(costs)) if costs else Decimal(0)
            if spent + next_cost > budget:
                return f"estimated spend ${spent:.4f} would pass the budget of ${budget} with one more trial"
        return None

    # -- stale trials ---------------------------------------------------------------------

    def reconcile(self) -> list[str]:
        """Fail the trials and runs whose worker is gone. Returns what it did, in words."""
        notes: list[str] = []
        host = socket.gethostname()
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            worker = str(trial.user_attrs.get("worker", ""))
            worker_host, _, pid = worker.rpartition(":")
            if worker_host == host and pid.isdigit() and not _alive(int(pid)):
                self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
                notes.append(f"trial {trial.number} failed: its worker (pid {pid}) is gone")
        optuna.storages.fail_stale_trials(self.study)
        self.recorder.flush()
        runs: dict[int, TrialRun] = {}
        for run in self.runs.trial_runs(self.experiment_id, self.parent_run_id):
            runs.setdefault(run.number, run)
        for trial in self.trials():
            if trial.state in (TrialState.RUNNING, TrialState.WAITING) or trial.user_attrs.get("surplus"):
                continue
            found = runs.get(trial.number)
            if found is not None and found.status != "RUNNING":
                continue
            notes.append(self._recover_run(trial, found))
        return notes

    def _recover_run(self, trial: FrozenTrial, run: TrialRun | None) -> str:
        """Write the run a dead worker could not, from what Optuna recorded of the trial."""
        gone = "the worker process ended before it closed this run (killed or crashed)"
        if trial.state == TrialState.FAIL:
            error = str(trial.user_attrs.get("error") or gone)
            if run is not None:
                self.runs.mark_run(run.run_id, status="FAILED", state="FAIL", error=gone)
                return f"run of trial {trial.number} marked FAILED: its worker ended without closing it"
        else:
            error = None
        run_id = (
            run.run_id
            if run is not None
            else self.runs.start_trial_run(
                self.experiment_id,
                self.parent_run_id,
                trial.number,
                start_time=trial.datetime_start.timestamp() if trial.datetime_start else time.time(),
                tags={
                    **self.run_tags,
                    "tracker.study": self.settings.study_name,
                    "tracker.recovered": "rebuilt from the Optuna record; only the objective value survived",
                },
            )
        )
        metrics: dict[str, float] = {}
        if trial.values:
            metrics[self.metric_key] = trial.values[0]
        if trial.duration is not None:
            metrics["duration_seconds"] = trial.duration.total_seconds()
            metrics["cost_usd_estimated"] = float(self.cost_of(trial))
        self.runs.finish_trial_run(
            run_id,
            status=status_for_state(trial.state.name),
            state=trial.state.name,
            end_time=trial.datetime_complete.timestamp() if trial.datetime_complete else time.time(),
            params=trial.params,
            metrics=metrics,
            steps={self.metric_key: sorted(trial.intermediate_values.items())},
            error=error,
        )
        return f"run of trial {trial.number} rebuilt from the Optuna record (its worker ended before writing it)"

    # -- the loop ---------------------------------------------------------------------------

    def work(self, emit: Callable[[SweepEvent], None], *, started: float) -> str:
        """Run trials until a stop condition; returns the reason in words."""
        failures = 0
        # The time limit counts from the first trial, not from loading data and stores.
        started = time.monotonic() if self.worker_index == 0 and self.settings.limits.max_parallel == 1 else started
        for note in self.reconcile():
            emit(SweepEvent("info", note))
        last_reconcile = time.monotonic()
        while True:
            with storage_lock(self.settings.storage, self.settings.study_name):
                trials = self.trials()
                reason = self.stop_reason(trials, started=started, failures=failures)
                if reason is not None:
                    return reason
                finished = sum(t.state in FINISHED_STATES for t in trials)
                running = sum(t.state == TrialState.RUNNING for t in trials)
                trial = None
                if finished + running < self.target:
                    trial = self.study.ask()
                    trial.set_user_attr("worker", _worker_id())
            if trial is not None and not self.locked and self._surplus(trial):
                trial = None
            if trial is None:
                # Others are running the last trials; wait in case one of them fails.
                time.sleep(_POLL_SECONDS)
                if time.monotonic() - last_reconcile > HEARTBEAT_SECONDS:
                    for note in self.reconcile():
                        emit(SweepEvent("info", note))
                    last_reconcile = time.monotonic()
                continue
            state = self.run_trial(trial)
            failures = failures + 1 if state == TrialState.FAIL else 0
            trials = self.trials()
            frozen = next((t for t in trials if t.number == trial.number), None)
            emit(
                SweepEvent(
                    "trial",
                    number=trial.number,
                    state=state.name,
                    value=(frozen.values[0] if frozen is not None and frozen.values else None),
                    best_value=self.best_so_far(trials),
                    finished=sum(t.state in FINISHED_STATES for t in trials),
                    target=self.target,
                    worker=self.worker_index,
                )
            )

    def _surplus(self, trial: optuna.Trial) -> bool:
        """Without a lock (gRPC proxy, MySQL), two workers may both have asked for the last trial.

        The one whose trial comes after ``target`` finished-or-running trials gives it back as a
        failed trial marked ``surplus``, before any training or MLflow run, so the total stays exact.
        """
        ahead = sum(
            t.number < trial.number and t.state in (*FINISHED_STATES, TrialState.RUNNING) for t in self.trials()
        )
        if ahead < self.target:
            return False
        trial.set_user_attr("surplus", True)
        self.study.tell(trial, state=TrialState.FAIL)
        return True

    def run_trial(self, trial: optuna.Trial) -> TrialState:
        start = time.time()
        self.recorder.start(
            self.experiment_id,
            self.parent_run_id,
            trial.number,
            start_time=start,
            tags={**self.run_tags, "tracker.worker": _worker_id(), "tracker.study": self.settings.study_name},
        )
        beat = _Heartbeat(self.storage, trial._trial_id)
        beat.start()
        error: str | None = None
        metrics: dict[str, float] = {}
        outcome_steps: tuple[tuple[int, float], ...] = ()
        interrupted = False
        try:
            outcome = self.objective(trial)
            metrics = outcome.metrics
            outcome_steps = outcome.steps
            state = TrialState.COMPLETE
        except optuna.TrialPruned:
            state = TrialState.PRUNED
        except KeyboardInterrupt:
            state, error, interrupted = TrialState.FAIL, "interrupted by the user (Ctrl-C)", True
        except Exception as exc:  # a trial that raises is recorded, and the sweep goes on
            state, error = TrialState.FAIL, f"{type(exc).__name__}: {exc}"
        finally:
            beat.stop()
        value = metrics.get(self.metric_key)
        if state == TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            state, error = TrialState.FAIL, f"the objective returned no finite {self.metric_key}"
        duration = time.time() - start
        cost = trial_cost(duration, self.hourly_usd)
        # Kept in Optuna too, so the sweep's total and budget add up the same figures.
        trial.set_user_attr("cost_usd_estimated", str(cost))
        if error is not None:
            trial.set_user_attr("error", error[:2000])
        if state == TrialState.COMPLETE and value is not None:
            values: list[float] | float = [value, float(cost)] if self.multi_objective else value
            frozen = self.study.tell(trial, values)
        else:
            frozen = self.study.tell(trial, state=state)
        steps = {self.metric_key: sorted(frozen.intermediate_values.items()) or list(outcome_steps)}
        self.recorder.finish(
            trial.number,
            status="KILLED" if interrupted else status_for_state(state.name),
            state=state.name,
            end_time=time.time(),
            params=frozen.params,
            metrics={**metrics, "duration_seconds": duration, "cost_usd_estimated": float(cost)},
            steps=steps,
            error=error,
        )
        if interrupted:
            self.recorder.flush()
            raise KeyboardInterrupt
        return state

    # -- the end ------------------------------------------------------------------------------

    def summarize(self, *, started: float, stop_reason: str, interrupted: bool) -> SweepSummary:
        self.recorder.flush()
        trials = self.trials()
        counts = {state.name: 0 for state in TrialState}
        for t in trials:
            if not t.user_attrs.get("surplus"):
                counts[t.state.name] += 1
        best = self._best(trials)
        pareto: tuple[int, ...] = ()
        if self.multi_objective:
            pareto = tuple(sorted(t.number for t in self.study.best_trials))
        errors = [t.user_attrs.get("error") for t in trials if t.state == TrialState.FAIL and t.user_attrs.get("error")]
        return SweepSummary(
            experiment=self.settings.experiment,
            experiment_id=self.experiment_id,
            study=self.settings.study_name,
            parent_run_id=self.parent_run_id,
            tracking_uri=self.runs.tracking_uri,
            metric_key=self.metric_key,
            direction=self.direction,
            target=self.target,
            counts={k: v for k, v in counts.items() if v},
            best=best,
            pareto=pareto,
            stop_reason=stop_reason,
            elapsed_seconds=time.monotonic() - started,
            cost_usd_estimated=self.spent(trials),
            interrupted=interrupted,
            first_error=str(errors[0]) if errors else None,
        )

    def _best(self, trials: list[FrozenTrial]) -> BestTrial | None:
        done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
        if not done:
            return None
        pick = max if self.direction == "maximize" else min
        best = pick(done, key=lambda t: t.values[0])
        runs = {r.number: r for r in self.runs.trial_runs(self.experiment_id, self.parent_run_id)}
        run = runs.get(best.number)
        return BestTrial(
            number=best.number,
            value=best.values[0],
            params=dict(best.params),
            metrics=dict(run.metrics) if run else {},
            run_id=run.run_id if run else None,
        )

    def close(self, summary: SweepSummary) -> SweepSummary:
        """Register the champion and end the parent run with the sweep's figures."""
        champion: str | None = None
        notes: list[str] = []
        best = summary.best
        if (
            best is not None
            and best.run_id
            and isinstance(self.objective, BuiltinObjective)
            and not summary.interrupted
        ):
            run = self.runs.get_run(best.run_id)
            if run.data.tags.get("tracker.champion") != "true":
                refit = self.objective.refit(best.params)
                drift = abs(refit.metrics.get(self.metric_key, math.nan) - best.value)
                if not drift <= 1e-9:
                    notes.append(f"refit of trial {best.number} gave {self.metric_key} off by {drift:.3g}")
                self.runs.log_predictions(best.run_id, refit.predictions)
                if self.objective.task == "regression":
                    # The no-model baseline of a regression report predicts the training mean.
                    mean = float(self.objective.split.y_train.mean())
                    self.runs.client.set_tag(best.run_id, "tracker.train_mean", repr(mean))
                champion = self.runs.register_champion(
                    best.run_id,
                    refit.model,
                    model_name=self.settings.experiment,
                    input_example=refit.input_example,
                    tags={"study": self.settings.study_name, "trial": str(best.number)},
                )
        status = "KILLED" if summary.interrupted else ("FAILED" if best is None else "FINISHED")
        metrics: dict[str, float] = {f"trials_{k.lower()}": float(v) for k, v in summary.counts.items()}
        metrics["cost_usd_estimated"] = float(summary.cost_usd_estimated)
        metrics["elapsed_seconds"] = summary.elapsed_seconds
        tags = {"tracker.stop_reason": summary.stop_reason}
        if best is not None:
            metrics[f"best_{self.metric_key}"] = best.value
            metrics["best_trial"] = float(best.number)
            if best.run_id:
                tags["tracker.best_run_id"] = best.run_id
        if summary.pareto:
            tags["tracker.pareto_trials"] = ",".join(map(str, summary.pareto))
        self.runs.close_sweep_run(self.parent_run_id, status=status, metrics=metrics, tags=tags)
        return dataclasses.replace(summary, champion_version=champion, notes=tuple(notes))


class _Heartbeat:
    """Records the trial's heartbeat so other workers can tell it is alive."""

    def __init__(self, storage: optuna.storages.BaseStorage, trial_id: int) -> None:
        self._storage = storage
        self._trial_id = trial_id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not isinstance(storage := self._storage, optuna.storages.RDBStorage):
            return
        storage.record_heartbeat(self._trial_id)
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


# -- entry points -------------------------------------------------------------------------------


def run_sweep(
    settings: Settings,
    *,
    hourly_usd: Decimal,
    on_event: Callable[[SweepEvent], None] | None = None,
) -> SweepSummary:
    """Run the sweep described by ``settings`` to one of its stop conditions.

    ``hourly_usd`` is the estimated price of one trial-hour (instance price times count).
    Raises :class:`KeyboardInterrupt` only after the record is closed; the summary of an
    interrupted sweep is then attached to the exception as ``summary``.
    """
    _quiet_optuna()
    emit = on_event or (lambda event: None)
    started = time.monotonic()
    sweep = _Sweep(settings, hourly_usd=hourly_usd)
    try:
        return _run(sweep, settings, hourly_usd, emit, started)
    finally:
        sweep.recorder.close()


def _run(
    sweep: _Sweep, settings: Settings, hourly_usd: Decimal, emit: Callable[[SweepEvent], None], started: float
) -> SweepSummary:
    reason = "interrupted by the user"
    interrupted = False
    try:
        if settings.limits.max_parallel > 1:
            reason = _supervise(sweep, settings, hourly_usd, emit, started)
        else:
            reason = sweep.work(emit, started=started)
    except KeyboardInterrupt as exc:
        interrupted = True
        for note in sweep.reconcile():
            emit(SweepEvent("info", note))
        summary = sweep.close(sweep.summarize(started=started, stop_reason=reason, interrupted=True))
        exc.summary = summary  # type: ignore[attr-defined]
        raise
    summary = sweep.summarize(started=started, stop_reason=reason, interrupted=interrupted)
    return sweep.close(summary)


def _supervise(
    sweep: _Sweep, settings: Settings, hourly_usd: Decimal, emit: Callable[[SweepEvent], None], started: float
) -> str:
    """Start ``max_parallel`` worker processes and gather their progress into one stream."""
    context = multiprocessing.get_context("spawn")
    events: Any = context.Queue()
    payload = settings.model_dump(mode="json")
    workers = [
        context.Process(
            target=_worker_main,
            args=(payload, str(hourly_usd), index, events, started),
            name=f"tracker-worker-{index}",
        )
        for index in range(settings.limits.max_parallel)
    ]
    for process in workers:
        process.start()
    reasons: list[str] = []
    ended: set[int] = set()
    try:
        while len(ended) < len(workers):
            try:
                event = events.get(timeout=0.5)
            except queue_module.Empty:
                event = None
            if event is not None:
                if event.kind == "stopped":
                    reasons.append(event.message)
                elif event.kind == "error":
                    raise TrackerError(event.message)
                else:
                    emit(event)
            for index, process in enumerate(workers):
                if index in ended or process.exitcode is None:
                    continue
                ended.add(index)
                if process.exitcode != 0:
                    emit(SweepEvent("info", f"worker {index} ended with exit code {process.exitcode}"))
                    for note in sweep.reconcile():
                        emit(SweepEvent("info", note))
        # Drain what the last workers sent before they ended.
        while True:
            try:
                event = events.get_nowait()
            except queue_module.Empty:
                break
            if event.kind == "stopped":
                reasons.append(event.message)
            elif event.kind == "trial" or event.kind == "info":
                emit(event)
    finally:
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    return reasons[0] if reasons else "all workers ended"


def _worker_main(payload: Mapping[str, Any], hourly: str, index: int, events: Any, started: float) -> None:
    """A worker process: the same loop, its progress sent to the supervisor."""
    from tracker.config import Settings as _Settings

    _quiet_optuna()
    settings = _Settings.model_validate(payload)
    sweep: _Sweep | None = None
    try:
        sweep = _Sweep(settings, hourly_usd=Decimal(hourly), worker_index=index)
        reason = sweep.work(events.put, started=started)
        sweep.recorder.flush()
        events.put(SweepEvent("stopped", reason, worker=index))
    except KeyboardInterrupt:
        events.put(SweepEvent("stopped", "interrupted by the user", worker=index))
    except TrackerError as exc:
        events.put(SweepEvent("error", str(exc), worker=index))
    finally:
        if sweep is not None:
            sweep.recorder.close()
