"""Plan against actual: pure arithmetic on monthly production outcomes. No I/O; money is Decimal.

The plan is the ROI report's value model: the threshold, the outcome values, the production
positive rate, the volume with its ramp-up, the running cost, the development cost. Each
calendar month of production (numbered from the deployment month) gives predictions,
labelled predictions and the decisions' outcomes. From them:

* the **realized** value against the plan's baseline, on the labelled rows only;
* the **estimated** value of the unlabelled rows, from the model's calibrated scores
  (confidence-based performance estimation: a row of score s is s of a positive), with the
  odds moved when the month's labels show that positives' outcomes arrive first
  (:func:`label_odds`). Labelled rows are never scaled up to stand for the rest;
* their total, the net of the running cost, the plan's figure for that month, and the gap
  split into volume, base rate and model quality;
* the drift and the recommendation, by the tests of :mod:`reports.alerts`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist

from reports.alerts import (
    ALPHA,
    MIN_DRIFT_ROWS,
    drift_limits,
    psi,
    recommend,
    wilson,
)
from reports.estimation import Expected, expected_outcomes
from reports.outcomes import MonthOutcomes
from tracker.money import ONE, ZERO, cents
from tracker.value import Confusion, OutcomeValues

__all__ = [
    "Decomposition",
    "Expected",
    "Month",
    "Plan",
    "Realized",
    "ToDate",
    "month_index",
    "realize",
]

# Within ±10% of the plan is on plan.
ON_PLAN = Decimal("0.10")
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Plan:
    """What the ROI report promised, per month."""

    task: str
    currency: str
    threshold: float | None
    values: OutcomeValues | None  # classification
    planned_rate: Decimal  # the production positive rate the plan assumed
    test: Confusion  # the test set's decisions at the threshold: the quality the plan assumed
    uplift_per_prediction: Decimal  # regression: the plan's own figure
    value_per_unit_error: Decimal  # regression
    predictions_per_month: Decimal
    running_cost_per_month: Decimal
    ramp_up_months: int
    development_cost: Decimal | None
    discount_rate_annual: Decimal
    test_bins: tuple[int, ...]  # the test set's scores per PSI bin
    source: str
    # The plan's baseline acts on this share of cases at random: 0 acting on nobody, 1 on everyone.
    baseline_share: Decimal = ZERO

    def planned_uplift(self) -> Decimal:
        """Money per prediction over the plan's baseline, at the plan's rate and quality."""
        if self.values is None:
            return self.uplift_per_prediction
        return self.uplift_at(self.test.tpr, self.test.fpr, self.planned_rate)

    def uplift_at(self, tpr: Decimal, fpr: Decimal, rate: Decimal) -> Decimal:
        """Money per prediction over the plan's baseline at these rates (classification).

        Over acting on nobody (:func:`uplift`), less what the baseline's random share s earns
        over nobody: s·(p·(v_TP − v_FN) + (1−p)·(v_FP − v_TN)).
        """
        assert self.values is not None
        v = self.values
        share_worth = rate * (v.tp - v.fn) + (ONE - rate) * (v.fp - v.tn)
        return uplift(tpr, fpr, rate, v) - self.baseline_share * share_worth

    def uplift_spread(self) -> float:
        """The standard deviation of one prediction's value over the baseline, at the plan's rates
        (classification; 0 for a regression, whose errors' spread the plan does not carry)."""
        if self.values is None:
            return 0.0
        v, p, t = self.values, float(self.planned_rate), self.test
        tpr, fpr, s = float(t.tpr), float(t.fpr), float(self.baseline_share)
        on_positive = float(v.fn) + s * float(v.tp - v.fn)
        on_negative = float(v.tn) + s * float(v.fp - v.tn)
        cases = (
            (p * tpr, float(v.tp) - on_positive),
            (p * (1 - tpr), float(v.fn) - on_positive),
            ((1 - p) * fpr, float(v.fp) - on_negative),
            ((1 - p) * (1 - fpr), float(v.tn) - on_negative),
        )
        mean = sum(w * x for w, x in cases)
        return math.sqrt(max(0.0, sum(w * (x - mean) ** 2 for w, x in cases)))

    def ramp(self, index: int) -> Decimal:
        r = self.ramp_up_months
        return ONE if r <= 0 or index >= r else Decimal(index) / Decimal(r)


def uplift(tpr: Decimal, fpr: Decimal, rate: Decimal, values: OutcomeValues) -> Decimal:
    """Expected value per prediction over the no-model baseline at these rates.

    The report's EV less the no-model EV, p·v_FN + (1−p)·v_TN, which simplifies to
    p·TPR·(v_TP − v_FN) + (1−p)·FPR·(v_FP − v_TN).
    """
    return rate * tpr * (values.tp - values.fn) + (ONE - rate) * fpr * (values.fp - values.tn)


@dataclass(frozen=True)
class Decomposition:
    """realized − planned value, split: volume, then base rate, then model quality. The parts add up."""

    volume: Decimal
    base_rate: Decimal
    quality: Decimal

    @property
    def total(self) -> Decimal:
        return self.volume + self.base_rate + self.quality


@dataclass(frozen=True)
class Month:
    index: int  # 1 = the deployment month, counted by the calendar
    month: str
    predictions: int
    labelled: int
    counts: Confusion  # the labelled rows' outcomes
    expected: Expected  # the unlabelled rows' expected outcomes
    realized_value: Decimal | None  # the model's value on the labelled rows
    baseline_value: Decimal | None  # the plan's baseline, same rows
    realized_uplift: Decimal  # labelled rows: realized − baseline, to the cent
    estimated_uplift: Decimal  # unlabelled rows, from the calibrated scores, to the cent
    planned_uplift: Decimal
    running_cost: Decimal
    running_cost_basis: str  # "billed", "configured" or "billed: none found"
    planned_net: Decimal
    psi: float
    drift: str  # stable, watch, shifted, or "not judged" below MIN_DRIFT_ROWS
    positive_rate: Decimal | None  # labelled positives and expected ones, over every prediction
    precision: tuple[float, float, float] | None  # labelled rows: value, Wilson low, high
    recall: tuple[float, float, float] | None
    gap: Decomposition

    @property
    def uplift(self) -> Decimal:
        """The month's value over the baseline: realized on the labelled rows, estimated on the rest."""
        return self.realized_uplift + self.estimated_uplift

    @property
    def net(self) -> Decimal:
        return self.uplift - self.running_cost

    @property
    def share_labelled(self) -> Decimal:
        return Decimal(self.labelled) / Decimal(self.predictions) if self.predictions else ZERO


@dataclass(frozen=True)
class ToDate:
    net: Decimal  # Σ net of the months shown: realized and estimated
    estimated: Decimal  # the part of it estimated from scores
    planned_net: Decimal  # Σ planned net of the same months
    net_after_development: Decimal
    development_cost: Decimal | None
    roi: Decimal | None
    npv: Decimal
    payback_month: str | None
    status: str  # ahead, on plan, behind


@dataclass(frozen=True)
class Realized:
    months: tuple[Month, ...]
    to_date: ToDate
    latest_psi: float
    drift_status: str  # stable, watch, shifted, not judged
    positive_rate: Decimal | None
    recommendation: str  # keep, watch, retrain
    reasons: tuple[str, ...]


def month_index(deployed: str, month: str) -> int:
    """1 for the deployment month ``deployed`` (YYYY-MM), counted on by the calendar."""
    dy, dm = (int(part) for part in deployed.split("-"))
    y, m = (int(part) for part in month.split("-"))
    return (y - dy) * 12 + (m - dm) + 1


def _worth(plan: Plan, tp: Decimal, fp: Decimal, fn: Decimal, tn: Decimal) -> tuple[Decimal, Decimal]:
    """The model's value on these outcomes, and the plan's baseline's on the same cases."""
    assert plan.values is not None
    v = plan.values
    model = tp * v.tp + fp * v.fp + fn * v.fn + tn * v.tn
    nobody = (tp + fn) * v.fn + (fp + tn) * v.tn
    everyone = (tp + fn) * v.tp + (fp + tn) * v.fp
    return model, nobody + plan.baseline_share * (everyone - nobody)


def _month(plan: Plan, index: int, outcomes: MonthOutcomes, running: Decimal, basis: str) -> Month:
    """One month against the plan. Its money is rounded to the cent here, once, so that every
    figure shown (and every sum of them) reconciles: net = value − running cost, gap = its parts."""
    planned_volume = plan.predictions_per_month * plan.ramp(index)
    planned_uplift = cents(planned_volume * plan.planned_uplift())
    running = cents(running)
    counts = Confusion(outcomes.tp, outcomes.fp, outcomes.fn, outcomes.tn)
    expected = Expected()
    realized = baseline = rate = None
    precision = recall = None
    unlabelled = Decimal(outcomes.predictions - outcomes.labelled)
    if plan.values is not None:
        expected = expected_outcomes(plan.test, outcomes)
        realized, baseline = _worth(plan, *(Decimal(c) for c in (counts.tp, counts.fp, counts.fn, counts.tn)))
        estimated = cents(_difference(_worth(plan, expected.tp, expected.fp, expected.fn, expected.tn)))
        if outcomes.predictions:
            rate = (Decimal(counts.tp + counts.fn) + expected.positives) / Decimal(outcomes.predictions)
        precision = wilson(outcomes.tp, outcomes.tp + outcomes.fp)
        recall = wilson(outcomes.tp, outcomes.tp + outcomes.fn)
    else:
        if outcomes.labelled:
            realized = -plan.value_per_unit_error * outcomes.model_abs_error
            baseline = -plan.value_per_unit_error * outcomes.baseline_abs_error
        # A regression has no scores to estimate from: its unlabelled rows are valued at the plan.
        estimated = cents(unlabelled * plan.planned_uplift())
    labelled_uplift = cents(realized - baseline) if realized is not None and baseline is not None else ZERO
    value = labelled_uplift + estimated
    test_rows = sum(plan.test_bins)
    month_psi = psi(plan.test_bins, outcomes.bins) if outcomes.bins and plan.test_bins else 0.0
    drift = (
        drift_limits(outcomes.predictions, test_rows, len(plan.test_bins)).reading(month_psi)
        if outcomes.predictions >= MIN_DRIFT_ROWS
        else "not judged"
    )
    return Month(
        index=index,
        month=outcomes.month,
        predictions=outcomes.predictions,
        labelled=outcomes.labelled,
        counts=counts,
        expected=expected,
        realized_value=realized,
        baseline_value=baseline,
        realized_uplift=labelled_uplift,
        estimated_uplift=estimated,
        planned_uplift=planned_uplift,
        running_cost=running,
        running_cost_basis=basis,
        planned_net=planned_uplift - cents(plan.running_cost_per_month),
        psi=month_psi,
        drift=drift,
        positive_rate=rate,
        precision=precision,
        recall=recall,
        gap=_decompose(plan, Decimal(outcomes.predictions), planned_volume, rate, value - planned_uplift),
    )


def _difference(pair: tuple[Decimal, Decimal]) -> Decimal:
    return pair[0] - pair[1]


def _decompose(
    plan: Plan, volume: Decimal, planned_volume: Decimal, rate: Decimal | None, gap: Decimal
) -> Decomposition:
    """realized − planned = volume + base rate + quality, each step holding the terms after it at plan.

    Volume and base rate are rounded to the cent; quality is the rest of the (rounded) gap, so
    the three add up to it exactly.
    """
    u_plan = plan.planned_uplift()
    volume_effect = cents((volume - planned_volume) * u_plan)
    if plan.values is None or rate is None:
        # A regression has no base rate (nor has an empty month): what is not volume is the model's errors.
        return Decomposition(volume_effect, ZERO, gap - volume_effect)
    at_real_rate = plan.uplift_at(plan.test.tpr, plan.test.fpr, rate)
    base_rate_effect = cents(volume * (at_real_rate - u_plan))
    return Decomposition(volume_effect, base_rate_effect, gap - volume_effect - base_rate_effect)


def realize(
    plan: Plan,
    outcomes: Sequence[MonthOutcomes],
    running: Sequence[tuple[Decimal, str]],
    *,
    deployed: str | None = None,
    positive_name: str = "positive cases",
    moved: Sequence[str] = (),
) -> Realized:
    """Every month against the plan, the project to date, the drift, and what to do about it.

    ``outcomes`` are consecutive calendar months (a month without predictions is one with
    none); ``deployed`` (YYYY-MM, default the first of them) is month 1 of the ramp-up and of
    the discounting. ``running`` is each month's running cost and its basis. ``moved`` names
    the features that moved most in the latest month, in words, for the reasons.
    """
    first = deployed or (outcomes[0].month if outcomes else "")
    months = tuple(_month(plan, month_index(first, m.month), m, *running[i]) for i, m in enumerate(outcomes))
    to_date = _to_date(plan, months)
    latest = months[-1] if months else None
    latest_psi = latest.psi if latest else 0.0
    positives = sum((Decimal(m.counts.tp + m.counts.fn) + m.expected.positives for m in months), ZERO)
    predictions = sum(m.predictions for m in months)
    rate = positives / Decimal(predictions) if predictions and plan.values is not None else None
    recommendation, reasons = recommend(plan, months, to_date, positive_name, moved)
    return Realized(
        months, to_date, latest_psi, latest.drift if latest else "not judged", rate, recommendation, reasons
    )


def _to_date(plan: Plan, months: Sequence[Month]) -> ToDate:
    net = sum((m.net for m in months), ZERO)
    estimated = sum((m.estimated_uplift for m in months), ZERO)
    planned = sum((m.planned_net for m in months), ZERO)
    development = plan.development_cost
    spent = development or ZERO
    running = sum((m.running_cost for m in months), ZERO)
    roi = None if development is None or development <= 0 else (net - spent) / (spent + running)
    d = (ONE + plan.discount_rate_annual) ** (-ONE / Decimal(12))
    npv = -spent + sum((m.net * d**m.index for m in months), ZERO)
    payback, cumulative = None, ZERO
    for m in months:
        cumulative += m.net
        if payback is None and cumulative >= spent:
            payback = m.month
    # What chance alone moves the months' value by, at the plan's rates and the months' volumes.
    spread = plan.uplift_spread() * math.sqrt(sum(m.predictions for m in months))
    chance = Decimal(repr(_NORMAL.inv_cdf(1 - ALPHA / 2) * spread))
    status = _status(net, planned, chance)
    return ToDate(net, estimated, planned, net - spent, development, roi, npv, payback, status)


def _status(realized: Decimal, planned: Decimal, chance: Decimal = ZERO) -> str:
    """Ahead, on plan or behind: on plan within ±10% of the plan's figure, or within what chance
    alone gives at the plan's rates (two-sided, at ALPHA), whichever is wider."""
    band = max(abs(planned) * ON_PLAN, chance)
    if realized > planned + band:
        return "ahead"
    if realized < planned - band:
        return "behind"
    return "on plan"
