"""When a sweep stops: AMT's limits and completion criteria, as one pure policy.

:meth:`StopPolicy.reason` looks only at the trials it is given, the seconds elapsed and
the failures in a row, so it is unit-tested with ``optuna.trial.create_trial``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from optuna.trial import FrozenTrial, TrialState

from tuning.trials import best_trial, better, cost_of, count_finished

__all__ = ["StopPolicy"]


@dataclass(frozen=True)
class StopPolicy:
    """The stop rules, checked in order: target count, runtime, failures, target value,
    no improvement, budget. Rules on the objective value apply to single-objective sweeps."""

    target: int
    direction: str = "maximize"
    grid_size: int | None = None
    max_runtime_seconds: float | None = None
    target_value: float | None = None
    max_trials_without_improvement: int | None = None
    budget_usd: Decimal | None = None
    hourly_usd: Decimal = Decimal(0)
    multi_objective: bool = False

    def reason(self, trials: Sequence[FrozenTrial], *, elapsed: float, failures: int) -> str | None:
        """Why the sweep should stop now, in words, or None to go on."""
        if count_finished(trials) >= self.target:
            if self.grid_size is not None and self.target == self.grid_size:
                return f"every point of the grid ({self.grid_size}) was tried"
            return f"reached {self.target} finished trials"
        if self.max_runtime_seconds is not None and elapsed >= self.max_runtime_seconds:
            return f"time limit of {self.max_runtime_seconds:g} s reached"
        if failures >= self.target:
            return f"{failures} trials in a row failed; giving up"
        if not self.multi_objective:
            reason = self._target_reached(trials) or self._no_improvement(trials)
            if reason:
                return reason
        return self._over_budget(trials)

    def _target_reached(self, trials: Sequence[FrozenTrial]) -> str | None:
        best = best_trial(trials, self.direction)
        if self.target_value is None or best is None:
            return None
        value = best.values[0]
        if value == self.target_value or better(value, self.target_value, self.direction):
            return f"target value {self.target_value:g} reached ({value:.6g})"
        return None

    def _no_improvement(self, trials: Sequence[FrozenTrial]) -> str | None:
        patience = self.max_trials_without_improvement
        if patience is None:
            return None
        done = sorted((t for t in trials if t.state == TrialState.COMPLETE and t.values), key=lambda t: t.number)
        if len(done) <= patience:
            return None
        before = best_trial(done[: len(done) - patience], self.direction)
        assert before is not None
        if any(better(t.values[0], before.values[0], self.direction) for t in done[len(done) - patience :]):
            return None
        return f"no improvement in the last {patience} trials"

    def _over_budget(self, trials: Sequence[FrozenTrial]) -> str | None:
        if self.budget_usd is None:
            return None
        costs = [cost_of(t, self.hourly_usd) for t in trials if t.state != TrialState.RUNNING and t.duration]
        spent = sum(costs, Decimal(0))
        next_cost = (spent / len(costs)) if costs else Decimal(0)
        if spent + next_cost > self.budget_usd:
            return f"estimated spend ${spent:.4f} would pass the budget of ${self.budget_usd} with one more trial"
        return None
