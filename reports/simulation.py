"""Decisions and their uncertainty: the threshold, the counts, and a seeded Monte Carlo.

Pure: arrays and assumptions in, exact figures out. The point estimate picks the
threshold exactly (``Decimal``); each Monte Carlo replicate draws every ranged assumption
from its triangular distribution, resamples the test rows and the validation rows, picks
the threshold again on the resampled validation rows (in floating point: it only chooses),
and values the resampled test decisions exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from reports.roi import Assumptions, Valuation, classification_value, regression_value, with_value
from tracker import value
from tracker.value import Scored, closest_to_half, confusion_at

__all__ = [
    "Scored",
    "Uncertainty",
    "best_threshold",
    "classification_replicate",
    "confusion_at",
    "percentile",
    "regression_replicate",
    "simulate",
]


def max_action_rate(assumptions: Assumptions) -> Decimal | None:
    """The share of cases the capacity allows to be acted on; None without a capacity."""
    capacity, volume = assumptions.capacity_per_month, assumptions.predictions_per_month
    if capacity is None or volume <= 0:
        return None
    return capacity / volume


def best_threshold(val: Scored, assumptions: Assumptions, *, capped: bool = True) -> float:
    """The threshold with the highest expected value on the validation rows, exactly, under ``a``'s prior.

    Within the capacity (``roi.capacity_per_month``) unless ``capped`` is False.
    """
    return value.best_threshold(val, assumptions.values, max_action_rate(assumptions) if capped else None)


def _fast_threshold(val: Scored, weights: np.ndarray, assumptions: Assumptions) -> float:
    """The same choice in floating point, for a replicate's resampled validation rows."""
    v_tp, v_fp, v_fn, v_tn = (float(v) for v in assumptions.outcome_values())
    tp, fp, pos, neg = val.flagged_counts(weights)
    p = (
        float(assumptions.production_positive_rate)
        if assumptions.production_positive_rate is not None
        else pos / max(pos + neg, 1)
    )
    tpr = tp / pos if pos else np.zeros_like(tp, dtype=float)
    fpr = fp / neg if neg else np.zeros_like(fp, dtype=float)
    ev = p * (tpr * v_tp + (1 - tpr) * v_fn) + (1 - p) * (fpr * v_fp + (1 - fpr) * v_tn)
    cap = max_action_rate(assumptions)
    if cap is not None:
        rate = p * tpr + (1 - p) * fpr
        feasible = rate <= float(cap)
        ev = np.where(feasible, ev, -np.inf) if feasible.any() else np.where(rate == rate.min(), ev, -np.inf)
    return closest_to_half(val.candidates(), ev == ev.max())


@dataclass(frozen=True)
class Uncertainty:
    """Percentiles and mean of the simulated (forward) NPV, percentiles of the ROI, how often the NPV is positive."""

    method: str
    replicates: int
    seed: int
    varied: tuple[str, ...]
    npv_p10: Decimal
    npv_p50: Decimal
    npv_p90: Decimal
    npv_mean: Decimal
    roi_p10: Decimal | None
    roi_p50: Decimal | None
    roi_p90: Decimal | None
    probability_npv_positive: Decimal


def percentile(sorted_values: list[Decimal], quantile: int) -> Decimal:
    """Nearest-rank percentile: an actual replicate, so it stays an exact Decimal."""
    rank = max(1, -(-quantile * len(sorted_values) // 100))
    return sorted_values[rank - 1]


def _draw(assumptions: Assumptions, rng: np.random.Generator) -> Assumptions:
    drawn = assumptions
    for name, r in assumptions.ranges.items():
        value = rng.triangular(float(r.low), float(r.likely), float(r.high)) if r.low < r.high else float(r.likely)
        drawn = with_value(drawn, name, Decimal(repr(value)))
    return drawn


# One replicate: the drawn assumptions, test-row weights and validation-row weights in; a valuation out.
Replicate = Callable[[Assumptions, np.ndarray, np.ndarray], Valuation]


def simulate(
    assumptions: Assumptions,
    replicate: Replicate,
    *,
    test_rows: int,
    val_rows: int,
    replicates: int,
    seed: int,
    method: str,
) -> Uncertainty:
    rng = np.random.default_rng(seed)
    npvs: list[Decimal] = []
    rois: list[Decimal] = []
    for _ in range(replicates):
        drawn = _draw(assumptions, rng)
        test_w = np.bincount(rng.integers(0, test_rows, test_rows), minlength=test_rows)
        val_w = np.bincount(rng.integers(0, val_rows, val_rows), minlength=val_rows) if val_rows else test_w[:0]
        result = replicate(drawn, test_w, val_w)
        npvs.append(result.npv)
        if result.roi is not None:
            rois.append(result.roi)
    npvs.sort()
    rois.sort()
    whole = len(rois) == replicates
    return Uncertainty(
        method=method,
        replicates=replicates,
        seed=seed,
        varied=tuple(assumptions.ranges),
        npv_p10=percentile(npvs, 10),
        npv_p50=percentile(npvs, 50),
        npv_p90=percentile(npvs, 90),
        npv_mean=sum(npvs, Decimal(0)) / Decimal(replicates),
        roi_p10=percentile(rois, 10) if whole else None,
        roi_p50=percentile(rois, 50) if whole else None,
        roi_p90=percentile(rois, 90) if whole else None,
        probability_npv_positive=Decimal(sum(v > 0 for v in npvs)) / Decimal(replicates),
    )


def classification_replicate(test: Scored, val: Scored, baseline_flags: np.ndarray | None) -> Replicate:
    """Re-pick the threshold on resampled validation rows, value the resampled test rows at it.

    ``baseline_flags``: another model's decisions on the test rows; None for a baseline by kind.
    """
    baseline = None if baseline_flags is None else Scored(test.y_true, baseline_flags.astype(np.float64))

    def run(drawn: Assumptions, test_w: np.ndarray, val_w: np.ndarray) -> Valuation:
        threshold = _fast_threshold(val, val_w, drawn)
        base = None if baseline is None else confusion_at(baseline, 0.5, test_w)
        return classification_value(confusion_at(test, threshold, test_w), base, drawn)

    return run


def regression_replicate(model_error: np.ndarray, baseline_error: np.ndarray) -> Replicate:
    def run(drawn: Assumptions, test_w: np.ndarray, _val_w: np.ndarray) -> Valuation:
        n = Decimal(int(test_w.sum()))
        model = Decimal(repr(float(model_error @ test_w)))
        base = Decimal(repr(float(baseline_error @ test_w)))
        return regression_value(model, base, n, drawn)

    return run
