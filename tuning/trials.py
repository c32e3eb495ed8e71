"""Small pure helpers over Optuna's frozen trials: counting, the best for a direction, cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal

from optuna.trial import FrozenTrial, TrialState

from tracker.money import estimated_cost
from tracker.record import layout

__all__ = [
    "FINISHED_STATES",
    "best_trial",
    "better",
    "cost_of",
    "count_finished",
    "count_running",
    "distinct_values",
    "trial_cost",
]

FINISHED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


def better(value: float, than: float, direction: str) -> bool:
    """Whether ``value`` beats ``than`` when the study goes in ``direction``."""
    return value > than if direction == "maximize" else value < than


def best_trial(trials: Iterable[FrozenTrial], direction: str) -> FrozenTrial | None:
    """The complete trial with the best first objective value (the earliest of ties)."""
    best: FrozenTrial | None = None
    for trial in trials:
        if trial.state != TrialState.COMPLETE or not trial.values:
            continue
        if best is None or better(trial.values[0], best.values[0], direction):
            best = trial
    return best


def ranked(trials: Iterable[FrozenTrial], direction: str) -> list[FrozenTrial]:
    """The complete trials, best first value first (the earliest of ties first)."""
    done = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
    sign = -1.0 if direction == "maximize" else 1.0
    return sorted(done, key=lambda t: (sign * t.values[0], t.number))


def distinct_values(best_first: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """The first trial of each value, in order: trials tied on the value are one result, not five."""
    seen: set[tuple[float, ...]] = set()
    kept = []
    for trial in best_first:
        if tuple(trial.values) not in seen:
            seen.add(tuple(trial.values))
            kept.append(trial)
    return kept


def count_finished(trials: Sequence[FrozenTrial]) -> int:
    return sum(t.state in FINISHED_STATES for t in trials)


def count_running(trials: Sequence[FrozenTrial]) -> int:
    return sum(t.state == TrialState.RUNNING for t in trials)


def trial_cost(duration: timedelta | float | None, hourly_usd: Decimal) -> Decimal:
    """Estimated cost of a trial: hours x price per hour (already times instance count)."""
    if duration is None:
        return Decimal(0)
    seconds = duration.total_seconds() if isinstance(duration, timedelta) else duration
    return estimated_cost(seconds, hourly_usd)


def cost_of(trial: FrozenTrial, hourly_usd: Decimal) -> Decimal:
    """The trial's estimated cost as its worker logged it (else from Optuna's timestamps)."""
    logged = trial.user_attrs.get(layout.ATTR_COST)
    if logged is not None:
        return Decimal(str(logged))
    return trial_cost(trial.duration, hourly_usd)
