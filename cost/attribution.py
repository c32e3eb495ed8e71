"""Split a billed total across an experiment's trial runs, in proportion to their durations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cost.table import SpendTable
from tracker.errors import UsageError
from tracker.money import split_by_weight
from tracker.record import Record
from tracker.record.layout import METRIC_COST_BILLED

__all__ = ["Attribution", "attribute_spend"]


@dataclass(frozen=True)
class Attribution:
    experiment: str
    total: Decimal
    parts: tuple[tuple[str, int, Decimal], ...]  # (run_id, trial number, amount)
    metric: str = METRIC_COST_BILLED

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "metric": self.metric,
            "total": str(self.total),
            "runs": [{"run_id": r, "trial": n, "amount": str(a)} for r, n, a in self.parts],
        }


def attribute_spend(table: SpendTable, record: Record, experiment: str) -> Attribution:
    """Log each trial run's share of the total as ``cost_usd_billed``; the shares sum to the cent."""
    if table.currency != "USD":
        raise UsageError(f"`attribute_to` logs {METRIC_COST_BILLED}, but the spend is in {table.currency}")
    experiment_id = record.reads.experiment_id(experiment)
    runs = [
        run
        for parent in record.reads.sweep_runs(experiment_id)
        for run in record.reads.trial_runs(experiment_id, parent.run_id)
        if run.duration_seconds is not None
    ]
    if not runs:
        raise UsageError(f"experiment {experiment!r} has no finished trial runs to attribute the spend to")
    weights = [Decimal(str(run.duration_seconds)) for run in runs]
    amounts = split_by_weight(table.total, weights)
    record.artifacts.log_values(
        METRIC_COST_BILLED, {run.run_id: float(amount) for run, amount in zip(runs, amounts, strict=True)}
    )
    parts = tuple((run.run_id, run.number, amount) for run, amount in zip(runs, amounts, strict=True))
    return Attribution(experiment, sum(amounts, Decimal(0)), parts)
