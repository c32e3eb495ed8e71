"""Setting a sweep up: the objective, the study, its sampler and pruner, and the MLflow parent run.

Every worker of a sweep, on this machine or another, runs this once. Under the sweep-wide
lock it opens (or creates) the Optuna study, warm-starts a new one, and finds (or creates)
the one parent run of the study in MLflow.
"""

from __future__ import annotations

import json
import os
import socket
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import optuna
from optuna.trial import TrialState

from tracker.config import ParamSpec, Settings
from tracker.errors import ConfigError, UsageError
from tracker.record import layout
from tracker.record.source import source_tags
from tracker.record.writer import TrialWriter
from tracker.record.writes import RunRecord
from tuning.identity import record_identity
from tuning.objective import BuiltinObjective, FunctionObjective, build_objective
from tuning.space import grid_of, grid_size
from tuning.stop import StopPolicy
from tuning.storage import open_storage, storage_lock, storage_locks
from tuning.strategy import make_pruner, make_sampler

__all__ = ["SweepSetup", "open_sweep", "worker_id"]


def worker_id() -> str:
    """How a trial names the process that runs it: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class SweepSetup:
    """One process's handles on a sweep: settings, objective, study and record."""

    settings: Settings
    hourly_usd: Decimal
    worker_index: int
    objective: BuiltinObjective | FunctionObjective
    metric_key: str
    direction: str
    multi_objective: bool
    policy: StopPolicy
    locked: bool
    storage: optuna.storages.BaseStorage
    study: optuna.Study
    experiment_id: str
    parent_run_id: str
    record: RunRecord
    recorder: TrialWriter
    # Every trial run's tags: the cost-allocation tags, and the sweep's source and user.
    trial_tags: Mapping[str, str] = field(default_factory=dict)
    # How this process's trials name their worker (host:pid; a Ray worker names its node too).
    worker: str = field(default_factory=worker_id)
    # Where this worker runs, as tags of its trials' runs: a Ray worker's node and instance type.
    placement: Mapping[str, str] = field(default_factory=dict)

    @property
    def target(self) -> int:
        return self.policy.target

    @property
    def study_name(self) -> str:
        return self.settings.study_name


def open_sweep(
    settings: Settings,
    *,
    hourly_usd: Decimal,
    worker_index: int,
    record: RunRecord,
    recorder: TrialWriter,
    source_file: str | None = None,
) -> SweepSetup:
    """Build the objective, open the study and the parent run; see the module's docstring."""
    objective = build_objective(settings.objective, settings.search_space, seed=settings.seed, roi=settings.roi)
    direction = settings.objective.resolved_direction
    multi = settings.objective.minimize_cost
    # Optuna keeps intermediate values for single-objective studies only.
    objective.report_steps = not multi
    space = settings.search_space or (objective.space if isinstance(objective, BuiltinObjective) else None)
    grid = grid_of(space) if settings.strategy == "grid" and space else None
    if settings.strategy == "grid" and grid is None:
        raise ConfigError("strategy: grid needs a search_space in the config for a function objective")
    policy = _policy(settings, grid_size(grid) if grid else None, direction, multi, hourly_usd)
    experiment_id = record.ensure_experiment(settings.experiment)
    with storage_lock(settings.storage, settings.study_name):
        # Inside the lock: the first worker on a new database creates Optuna's tables alone.
        run = settings.execution
        storage = open_storage(settings.storage, heartbeat=run.heartbeat, retry_failed=run.retry_failed_trials)
        study = _open_study(settings, storage, direction, multi)
        record_identity(study, settings)
        existing = len(study.get_trials(deepcopy=False))
        if existing == 0 and settings.warm_start is not None:
            _warm_start(settings, study, storage, direction)
        seed = _sampler_seed(settings, study, worker_index, existing)
        study.sampler = make_sampler(settings.strategy, seed=seed, grid=grid)
        # Once per sweep (it asks git for the commit): the parent's and every trial's source.
        source = source_tags(source_file)
        parent = _parent_run(settings, record, experiment_id, objective, direction, hourly_usd, source)
    return SweepSetup(
        settings=settings,
        hourly_usd=hourly_usd,
        worker_index=worker_index,
        objective=objective,
        metric_key=objective.metric_key,
        direction=direction,
        multi_objective=multi,
        policy=policy,
        locked=storage_locks(settings.storage),
        storage=storage,
        study=study,
        experiment_id=experiment_id,
        parent_run_id=parent,
        record=record,
        recorder=recorder,
        trial_tags={**settings.tags, **source},
    )


def _parent_run(
    settings: Settings,
    record: RunRecord,
    experiment_id: str,
    objective: BuiltinObjective | FunctionObjective,
    direction: str,
    hourly_usd: Decimal,
    source: Mapping[str, str],
) -> str:
    """The study's parent run: found again and running again, or created with its data's lineage."""
    parent = record.find_sweep_run(experiment_id, settings.study_name)
    if parent is not None:
        # A resumed sweep is running again, whatever its last run ended as.
        record.resume_sweep_run(parent)
        return parent
    parent = record.create_sweep_run(
        experiment_id,
        settings.study_name,
        params=_sweep_params(settings, direction, hourly_usd, getattr(objective, "space", None)),
        tags=settings.tags,
        metric_key=objective.metric_key,
        direction=direction,
        task=getattr(objective, "task", None) or "custom",
        note=f"Optuna study {settings.study_name!r}, {settings.strategy} strategy",
        source=source,
    )
    if isinstance(objective, BuiltinObjective):
        # Once per sweep, on its parent run: per trial it cost the writer ~3 ms a trial.
        record.log_datasets(parent, objective.data_inputs())
    return parent


def _policy(
    settings: Settings, grid: int | None, direction: str, multi_objective: bool, hourly_usd: Decimal
) -> StopPolicy:
    limits, completion = settings.limits, settings.completion
    return StopPolicy(
        target=min(limits.max_trials, grid or limits.max_trials),
        direction=direction,
        grid_size=grid,
        max_runtime_seconds=limits.max_runtime_seconds,
        target_value=completion.target_value,
        max_trials_without_improvement=completion.max_trials_without_improvement,
        budget_usd=limits.budget_usd,
        hourly_usd=hourly_usd,
        multi_objective=multi_objective,
    )


# Seed offsets: primes, so trials already in the study and sweeps that joined it earlier
# move the seed by different steps.
_PER_TRIAL, _PER_SWEEP = 7919, 104729


def _sampler_seed(settings: Settings, study: optuna.Study, worker_index: int, existing: int) -> int:
    """``seed`` for a lone sweep on a new study, so a rerun elsewhere draws the same trials;
    a different seed for each worker and each sweep that joins the study, so none replays
    another's draws.

    Called under the sweep-wide lock, which makes the join count exact on a local file or
    PostgreSQL. Where there is no lock (gRPC proxy, MySQL) the process ID is mixed in too.
    """
    joined = int(study.user_attrs.get(layout.ATTR_SWEEPS_JOINED, 0))
    study.set_user_attr(layout.ATTR_SWEEPS_JOINED, joined + 1)
    seed = settings.seed + worker_index + _PER_TRIAL * existing + _PER_SWEEP * joined
    if not storage_locks(settings.storage):
        seed += os.getpid()
    return seed % 2**32


def _open_study(
    settings: Settings, storage: optuna.storages.BaseStorage, direction: str, multi_objective: bool
) -> optuna.Study:
    pruner = make_pruner(settings.strategy, settings.early_stopping, multi_objective=multi_objective)
    directions: list[Any] = [direction, "minimize"] if multi_objective else [direction]
    try:
        return optuna.create_study(
            study_name=settings.study_name,
            storage=storage,
            pruner=pruner,
            directions=directions,
            load_if_exists=True,
        )
    except ValueError as exc:
        raise UsageError(
            f"study {settings.study_name!r} in {settings.storage} was created with other objectives: {exc}; "
            "choose another `study`"
        ) from exc


def _warm_start(settings: Settings, study: optuna.Study, storage: optuna.storages.BaseStorage, direction: str) -> None:
    warm = settings.warm_start
    assert warm is not None
    try:
        parent = optuna.load_study(study_name=warm.from_study, storage=storage)
    except KeyError as exc:
        raise ConfigError(f"warm_start.from_study: no study {warm.from_study!r} in {settings.storage}") from exc
    done = [t for t in parent.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values]
    done.sort(key=lambda t: t.values[0], reverse=direction == "maximize")
    with warnings.catch_warnings():
        # enqueue_trial's user_attrs argument is "experimental"; the warning says nothing to act on.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for trial in done[: warm.top_k]:
            study.enqueue_trial(
                dict(trial.params), user_attrs={layout.ATTR_WARM_START: f"{warm.from_study}#{trial.number}"}
            )


def _space_text(space: Mapping[str, ParamSpec] | None) -> str | None:
    """A search space as one JSON line, within MLflow's limit for a parameter's value."""
    if not space:
        return None
    text = json.dumps({name: spec.model_dump(exclude_none=True) for name, spec in space.items()}, default=str)
    return text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 1] + "…"


# MLflow keeps a parameter's value to 6,000 characters.
_MAX_PARAM = 6000


def _sweep_params(
    settings: Settings, direction: str, hourly_usd: Decimal, space: Mapping[str, ParamSpec] | None
) -> dict[str, Any]:
    s = settings
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
        # What was searched, as the config gave it (or the trainer's default space).
        "search_space": _space_text(space),
        "dataset": None if o.function else o.dataset,
        "metric": o.metric,
        "direction": direction,
        "minimize_cost": o.minimize_cost,
        "seed": s.seed,
        "instance_type": s.compute.instance_type,
        "instance_count": s.compute.instance_count,
        layout.PARAM_HOURLY_USD: hourly_usd,
    }
