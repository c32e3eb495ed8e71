"""Plan against actual: pure arithmetic on monthly production outcomes. No I/O; money is Decimal.

The plan is the ROI report's value model: the threshold, the outcome values, the production
positive rate, the volume with its ramp-up, the running cost, the development cost. Each
calendar month of production gives predictions, labelled predictions and the decisions'
outcomes. From them: realized value against the plan's baseline on the labelled rows,
extrapolated to every prediction (an estimate); the net of the running cost; the plan's
figure for that month; the drift that explains the gap, split into volume, base rate and
model quality.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from reports.outcomes import MonthOutcomes
from tracker.money import ONE, ZERO, cents
from tracker.value import Confusion, OutcomeValues

__all__ = [
    "Decomposition",
    "Month",
    "Plan",
    "Realized",
    "ToDate",
    "psi",
    "realize",
    "wilson",
]

# PSI's usual reading.
PSI_WATCH, PSI_SHIFTED = 0.1, 0.25
# Within ±10% of the plan is on plan.
ON_PLAN = Decimal("0.10")


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
    """planned − realized, split: volume, then base rate, then model quality. The parts add up."""

    volume: Decimal
    base_rate: Decimal
    quality: Decimal

    @property
    def total(self) -> Decimal:
        return self.volume + self.base_rate + self.quality


@dataclass(frozen=True)
class Month:
    index: int  # 1 = the first month in production
    month: str
    predictions: int
    labelled: int
    counts: Confusion
    realized_value: Decimal | None  # on the labelled rows
    baseline_value: Decimal | None  # the plan's baseline, same rows
    realized_uplift: Decimal | None  # extrapolated to every prediction (estimated)
    planned_uplift: Decimal
    running_cost: Decimal
    running_cost_basis: str  # "billed" or "configured"
    realized_net: Decimal | None
    planned_net: Decimal
    psi: float
    positive_rate: Decimal | None
    precision: tuple[float, float, float] | None  # value, Wilson low, high
    recall: tuple[float, float, float] | None
    gap: Decomposition | None

    @property
    def share_labelled(self) -> Decimal:
        return Decimal(self.labelled) / Decimal(self.predictions) if self.predictions else ZERO


@dataclass(frozen=True)
class ToDate:
    realized_net: Decimal  # Σ realized net of the labelled months
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
    drift_status: str  # stable, watch, shifted
    positive_rate: Decimal | None
    recommendation: str  # keep, watch, retrain
    reasons: tuple[str, ...]


def psi(expected: Sequence[int], actual: Sequence[int]) -> float:
    """Population stability index of ``actual`` bin counts against ``expected``: Σ (a − e)·ln(a / e).

    Shares are floored at 0.0001 so an empty bin does not make it infinite.
    """
    e_total, a_total = sum(expected), sum(actual)
    if not e_total or not a_total:
        return 0.0
    out = 0.0
    for e_count, a_count in zip(expected, actual, strict=True):
        e, a = max(e_count / e_total, 1e-4), max(a_count / a_total, 1e-4)
        out += (a - e) * math.log(a / e)
    return out


def wilson(successes: int, count: int, z_score: float = 1.96) -> tuple[float, float, float] | None:
    """The share and its Wilson score interval (95% by default); None without trials."""
    if count <= 0:
        return None
    p = successes / count
    centre = (p + z_score * z_score / (2 * count)) / (1 + z_score * z_score / count)
    half = (
        z_score
        * math.sqrt(p * (1 - p) / count + z_score * z_score / (4 * count * count))
        / (1 + z_score * z_score / count)
    )
    return p, max(0.0, centre - half), min(1.0, centre + half)


def drift_reading(value: float) -> str:
    return "shifted" if value > PSI_SHIFTED else ("watch" if value >= PSI_WATCH else "stable")


def _month(plan: Plan, index: int, outcomes: MonthOutcomes, running: Decimal, basis: str) -> Month:
    """One month against the plan. Its money is rounded to the cent here, once, so that every
    figure shown (and every sum of them) reconciles: net = value − running cost, gap = its parts."""
    planned_volume = plan.predictions_per_month * plan.ramp(index)
    planned_uplift = cents(planned_volume * plan.planned_uplift())
    running = cents(running)
    counts = Confusion(outcomes.tp, outcomes.fp, outcomes.fn, outcomes.tn)
    realized = baseline = extrapolated = rate = gap = None
    precision = recall = None
    if outcomes.labelled:
        if plan.values is not None:
            v = plan.values
            realized = outcomes.tp * v.tp + outcomes.fp * v.fp + outcomes.fn * v.fn + outcomes.tn * v.tn
            nobody = (outcomes.tp + outcomes.fn) * v.fn + (outcomes.fp + outcomes.tn) * v.tn
            everyone = (outcomes.tp + outcomes.fn) * v.tp + (outcomes.fp + outcomes.tn) * v.fp
            baseline = nobody + plan.baseline_share * (everyone - nobody)
            rate = counts.positive_rate
            precision = wilson(outcomes.tp, outcomes.tp + outcomes.fp)
            recall = wilson(outcomes.tp, outcomes.tp + outcomes.fn)
        else:
            realized = -plan.value_per_unit_error * outcomes.model_abs_error
            baseline = -plan.value_per_unit_error * outcomes.baseline_abs_error
        extrapolated = cents((realized - baseline) * Decimal(outcomes.predictions) / Decimal(outcomes.labelled))
        gap = _decompose(plan, Decimal(outcomes.predictions), planned_volume, counts, extrapolated - planned_uplift)
    return Month(
        index=index,
        month=outcomes.month,
        predictions=outcomes.predictions,
        labelled=outcomes.labelled,
        counts=counts,
        realized_value=realized,
        baseline_value=baseline,
        realized_uplift=extrapolated,
        planned_uplift=planned_uplift,
        running_cost=running,
        running_cost_basis=basis,
        realized_net=None if extrapolated is None else extrapolated - running,
        planned_net=planned_uplift - cents(plan.running_cost_per_month),
        psi=psi(plan.test_bins, outcomes.bins) if outcomes.bins and plan.test_bins else 0.0,
        positive_rate=rate,
        precision=precision,
        recall=recall,
        gap=gap,
    )


def _decompose(plan: Plan, volume: Decimal, planned_volume: Decimal, counts: Confusion, gap: Decimal) -> Decomposition:
    """realized − planned = volume + base rate + quality, each step holding the terms after it at plan.

    Volume and base rate are rounded to the cent; quality is the rest of the (rounded) gap, so
    the three add up to it exactly.
    """
    u_plan = plan.planned_uplift()
    volume_effect = cents((volume - planned_volume) * u_plan)
    if plan.values is None:
        # A regression has no base rate: what is not volume is the model's errors.
        return Decomposition(volume_effect, ZERO, gap - volume_effect)
    at_real_rate = plan.uplift_at(plan.test.tpr, plan.test.fpr, counts.positive_rate)
    base_rate_effect = cents(volume * (at_real_rate - u_plan))
    return Decomposition(volume_effect, base_rate_effect, gap - volume_effect - base_rate_effect)


def realize(
    plan: Plan,
    outcomes: Sequence[MonthOutcomes],
    running: Sequence[tuple[Decimal, str]],
    *,
    positive_name: str = "positive cases",
) -> Realized:
    """Every month against the plan, the project to date, the drift, and what to do about it.

    ``running`` is each month's running cost and its basis ("billed" or "configured").
    """
    months = tuple(_month(plan, i + 1, m, *running[i]) for i, m in enumerate(outcomes))
    to_date = _to_date(plan, months)
    known = [m for m in months if m.labelled]
    latest_psi = months[-1].psi if months else 0.0
    labelled = sum(m.labelled for m in months)
    positives = sum(m.counts.tp + m.counts.fn for m in months)
    rate = Decimal(positives) / Decimal(labelled) if labelled and plan.values is not None else None
    recommendation, reasons = _recommend(plan, known, to_date, latest_psi, rate, positive_name)
    return Realized(months, to_date, latest_psi, drift_reading(latest_psi), rate, recommendation, reasons)


def _to_date(plan: Plan, months: Sequence[Month]) -> ToDate:
    known = [m for m in months if m.realized_net is not None]
    realized = sum((m.realized_net for m in known if m.realized_net is not None), ZERO)
    planned = sum((m.planned_net for m in known), ZERO)
    development = plan.development_cost
    spent = development or ZERO
    running = sum((m.running_cost for m in known), ZERO)
    roi = None if development is None or development <= 0 else (realized - spent) / (spent + running)
    d = (ONE + plan.discount_rate_annual) ** (-ONE / Decimal(12))
    npv = -spent + sum((m.realized_net * d**m.index for m in known if m.realized_net is not None), ZERO)
    payback, cumulative = None, ZERO
    for m in known:
        cumulative += m.realized_net or ZERO
        if payback is None and cumulative >= spent:
            payback = m.month
    return ToDate(realized, planned, realized - spent, development, roi, npv, payback, _status(realized, planned))


def _status(realized: Decimal, planned: Decimal) -> str:
    """Ahead, on plan (within ±10% of the plan's figure) or behind."""
    band = abs(planned) * ON_PLAN
    if realized > planned + band:
        return "ahead"
    if realized < planned - band:
        return "behind"
    return "on plan"


def _recommend(
    plan: Plan,
    known: Sequence[Month],
    to_date: ToDate,
    latest_psi: float,
    rate: Decimal | None,
    positive_name: str,
) -> tuple[str, tuple[str, ...]]:
    """keep, watch or retrain, with the reasons in a stakeholder's words."""
    reasons = []
    recall_dropped = False
    if rate is not None and plan.planned_rate:
        change = rate / plan.planned_rate
        if change >= Decimal("1.25") or change <= Decimal("0.8"):
            word = "risen" if change > 1 else "fallen"
            reasons.append(
                f"The share of {positive_name} has {word} from {plan.planned_rate:.1%} in the plan to {rate:.1%}."
            )
    last = known[-1] if known else None
    if last is not None and last.recall is not None and plan.values is not None:
        caught, _low, high = last.recall
        expected = float(plan.test.tpr)
        recall_dropped = high < expected
        still = "only" if recall_dropped else "still"
        reasons.append(
            f"The model {still} catches {caught:.0%} of them in {last.month} ({expected:.0%} on the test set)."
        )
    if last is not None and last.realized_uplift is not None and last.planned_uplift:
        ratio = last.realized_uplift / last.planned_uplift - ONE
        more = "more" if ratio > 0 else "less"
        reasons.append(f"{last.month} was worth {abs(ratio):.0%} {more} than planned.")
    reading = drift_reading(latest_psi)
    reasons.append(
        {
            "stable": f"The production scores look like the test set's (PSI {latest_psi:.2f}).",
            "watch": f"The production scores have moved somewhat from the test set's (PSI {latest_psi:.2f}).",
            "shifted": f"The production scores have shifted from the test set's (PSI {latest_psi:.2f}).",
        }[reading]
    )
    standing = {"ahead": "ahead of the plan", "behind": "behind the plan", "on plan": "on plan"}[to_date.status]
    reasons.append(f"To date the project is {standing}.")
    if reading == "shifted" or recall_dropped:
        return "retrain", tuple(reasons)
    if reading == "watch" or to_date.status == "behind":
        return "watch", tuple(reasons)
    return "keep", tuple(reasons)
