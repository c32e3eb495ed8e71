"""What the realized report reads besides the production log: the test set's PSI bins, the
deployment month, and each month's running cost (billed, or the plan's figure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from reports.outcomes import MonthOutcomes, Outcomes
from reports.plan_vs_actual import Plan
from tracker.errors import TrackerError, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from tracker.config import Settings

__all__ = ["NO_BILL", "decision_bins", "deployed_month", "edges", "running_costs", "test_features"]

DECILES = [q / 10 for q in range(1, 10)]
# A month the bill does not cover yet is said so, not silently free.
NO_BILL = "billed: none found"


def edges(test: pd.DataFrame | None, best_run_id: str, plan: Plan) -> tuple[list[float], tuple[int, ...]]:
    """Decile edges of the test set's scores (or predictions), and the test set's count in each bin."""
    column = "y_score" if plan.task == "classification" else "y_pred"
    if test is None or column not in test.columns:
        raise TrackerError(f"run {best_run_id} has no predictions/test.parquet with {column}; the PSI needs them")
    scores = test[column].to_numpy(dtype=float)
    edges = sorted({float(e) for e in np.quantile(scores, DECILES)})
    bins = np.searchsorted(np.asarray(edges), scores, side="right")
    return edges, tuple(int(c) for c in np.bincount(bins, minlength=len(edges) + 1))


def decision_bins(test: pd.DataFrame | None, plan: Plan) -> tuple[int, ...]:
    """The test set's decisions at the plan's threshold: (not flagged, flagged), for a log of decisions."""
    assert test is not None
    flagged = int((test["y_score"].to_numpy(dtype=float) >= (plan.threshold or 0.5)).sum())
    return (len(test) - flagged, flagged)


def deployed_month(settings: Settings, outcomes: Outcomes) -> str:
    """Month 1: ``realized.deployed_on``, or the log's first month. A prediction before it is an error."""
    deployed_on = settings.realized.deployed_on
    if deployed_on is None:
        return outcomes.first_month
    deployed = f"{deployed_on.year:04d}-{deployed_on.month:02d}"
    if outcomes.first_month < deployed:
        raise UsageError(
            f"`realized.deployed_on` is {deployed_on}, but the production log starts in {outcomes.first_month}; "
            "set the month the model went into production"
        )
    return deployed


def running_costs(
    settings: Settings, plan: Plan, months: list[MonthOutcomes], *, refresh: bool
) -> list[tuple[Decimal, str]]:
    """Each month's running cost: billed for ``roi.running_cost_from``'s tags, or the plan's figure."""
    source = settings.roi.running_cost_from
    if source is None:
        return [(plan.running_cost_per_month, "configured")] * len(months)
    if settings.cost.source == "estimate":
        raise UsageError("roi.running_cost_from needs billed spend; choose `cost.source` explorer or billing-file")
    import calendar

    from cost.service import spend_filter, spend_for

    first, last = months[0].month, months[-1].month
    year, month = (int(part) for part in last.split("-"))
    window = (date.fromisoformat(f"{first}-01"), date(year, month, calendar.monthrange(year, month)[1]))
    tagged = spend_filter(settings, tags=source.tags, window=window, granularity="monthly")
    by_month = spend_for(settings, tagged, refresh=refresh, check_tags=False).by_month()
    # A month the bill does not cover yet is said so, not silently free.
    return [(by_month[m.month], "billed") if m.month in by_month else (Decimal(0), NO_BILL) for m in months]


def test_features(settings: Settings, task: str, test: pd.DataFrame | None) -> pd.DataFrame | None:
    """The test split's features, for the feature drift: the config's dataset split again with its seed,
    used only when its outcomes are the logged test predictions' own (the same split), else None."""
    from tracker.errors import TrackerError as Failed
    from tuning.datasets import load_dataset, split_dataset

    objective = settings.objective
    if objective.function is not None or test is None or task not in ("classification", "regression"):
        return None
    try:
        split = split_dataset(load_dataset(objective, task=task), seed=settings.seed)  # type: ignore[arg-type]
    except Failed:
        return None
    truth = np.asarray(split.y_test, dtype=float)
    if len(truth) != len(test) or not np.array_equal(truth, test["y_true"].to_numpy(dtype=float)):
        return None
    return split.x_test
