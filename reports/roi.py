"""The ROI model: pure functions, no I/O, exact money.

The expected-value framework (Provost & Fawcett, *Data Science for Business*, ch. 7). Each
outcome of a decision has a value, measured against taking no action: a caught positive
is worth what the action earns less what it costs, a false alarm costs the action, and a
missed positive or a quiet negative is worth nothing more than doing nothing. The model's
expected value per prediction weights its class-conditional rates (TPR, FPR, measured on
the test set) by the production base rate; the baseline (what the business does today:
act on nobody, on everyone, on a random share, or another model) is the same formula with
its own rates. The difference, times the monthly volume and ramped up over the first
months, is the benefit. Less the costs still to come and the running cost, discounted
monthly, it is the forward NPV, on which the deploy decision rests; less every cost, spent
or to come, it is the NPV of "was it worth it?". Every figure is a ``Decimal``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from tracker import value
from tracker.money import ONE, ZERO
from tracker.value import Baseline, Confusion, OutcomeValues, action_rate

__all__ = [
    "Action",
    "Assumptions",
    "Baseline",
    "Confusion",
    "OneOffCost",
    "Operations",
    "Range",
    "Valuation",
    "classification_value",
    "expected_value",
    "npv_factors",
    "operations",
    "payback_months",
    "regression_value",
    "valuation",
    "with_value",
]

TWELVE = Decimal(12)
NO_ACTION = Baseline("no_action")


@dataclass(frozen=True)
class Range:
    """An assumption known only within bounds: drawn triangular(low, likely, high)."""

    low: Decimal
    likely: Decimal
    high: Decimal


@dataclass(frozen=True)
class Action:
    """The simpler way to value outcomes: what acting on a flag earns and costs.

    TP = success_rate × value_if_caught − action_cost; FP = −action_cost; FN = TN = 0.
    """

    value_if_caught: Decimal
    success_rate: Decimal
    action_cost: Decimal


@dataclass(frozen=True)
class OneOffCost:
    """A cost the cloud bill does not show: people's time, licences, labelling.

    ``spent``: already paid, so it no longer bears on the decision to deploy (it still
    counts in "was it worth it?").
    """

    name: str
    amount: Decimal
    spent: bool = False


@dataclass(frozen=True)
class Assumptions:
    """Every input of the value model, at its likely value. Money in one currency."""

    currency: str
    horizon_months: int
    predictions_per_month: Decimal
    running_cost_per_month: Decimal
    # The project's cloud spend, already spent, floored at zero; None when none was found.
    cloud_cost: Decimal | None
    one_off_costs: tuple[OneOffCost, ...] = ()
    # Classification: either explicit outcome values, or an action that implies them.
    value_tp: Decimal = ZERO
    value_fp: Decimal = ZERO
    value_fn: Decimal = ZERO
    value_tn: Decimal = ZERO
    action: Action | None = None
    # None: the test set's own positive rate is assumed for production.
    production_positive_rate: Decimal | None = None
    # Regression: money per unit of absolute error avoided.
    value_per_unit_error: Decimal = ZERO
    discount_rate_annual: Decimal = Decimal("0.10")
    ramp_up_months: int = 0
    baseline: Baseline = NO_ACTION
    # At most this many actions a month: the threshold is chosen within it.
    capacity_per_month: Decimal | None = None
    # The assumptions given as ranges, by the name ``with_value`` takes.
    ranges: dict[str, Range] = field(default_factory=dict)

    def outcome_values(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """(v_TP, v_FP, v_FN, v_TN), each against taking no action."""
        if self.action is not None:
            a = self.action
            return a.success_rate * a.value_if_caught - a.action_cost, -a.action_cost, ZERO, ZERO
        return self.value_tp, self.value_fp, self.value_fn, self.value_tn

    @property
    def values(self) -> OutcomeValues:
        return OutcomeValues(*self.outcome_values(), self.production_positive_rate)

    @property
    def value_of_a_catch(self) -> Decimal:
        """What flagging one real positive adds over missing it: v_TP − v_FN."""
        tp, _, fn, _ = self.outcome_values()
        return tp - fn

    @property
    def one_off_total(self) -> Decimal:
        return sum((c.amount for c in self.one_off_costs), ZERO)

    @property
    def development_cost(self) -> Decimal | None:
        """Cloud spend plus the one-off costs; None when neither is known."""
        if self.cloud_cost is None and not self.one_off_costs:
            return None
        return (self.cloud_cost or ZERO) + self.one_off_total

    @property
    def cost_to_come(self) -> Decimal:
        """The development costs not yet paid: one-off costs not marked ``spent``."""
        return sum((c.amount for c in self.one_off_costs if not c.spent), ZERO)

    @property
    def cost_spent(self) -> Decimal:
        """The development costs already paid (sunk): the cloud spend and the spent one-off costs."""
        return (self.cloud_cost or ZERO) + sum((c.amount for c in self.one_off_costs if c.spent), ZERO)


def with_value(assumptions: Assumptions, name: str, value: Decimal) -> Assumptions:
    """``a`` with one assumption changed; ``name`` is a field, ``action.<field>`` or ``one_off_costs.<name>``."""
    if name.startswith("action.") and assumptions.action is not None:
        return replace(assumptions, action=replace(assumptions.action, **{name.removeprefix("action."): value}))
    if name.startswith("one_off_costs."):
        which = name.removeprefix("one_off_costs.")
        costs = tuple(replace(c, amount=value) if c.name == which else c for c in assumptions.one_off_costs)
        return replace(assumptions, one_off_costs=costs)
    changes: dict[str, Any] = {name: value}
    if name in ("horizon_months", "ramp_up_months"):
        changes[name] = max(0 if name == "ramp_up_months" else 1, round(value))
    return replace(assumptions, **changes)


def expected_value(counts: Confusion, assumptions: Assumptions) -> Decimal:
    """Expected value of one prediction under ``a``'s production rate (see :mod:`tracker.value`)."""
    return value.expected_value(counts, assumptions.values)


def production_rate(model: Confusion, assumptions: Assumptions) -> Decimal:
    """The production positive rate; the test set's own when none is given."""
    rate = assumptions.production_positive_rate
    return model.positive_rate if rate is None else rate


def baseline_value(model: Confusion, baseline: Confusion | None, assumptions: Assumptions) -> Decimal:
    """The baseline's value per prediction: from its own decisions when it is a model, else from its kind."""
    if baseline is not None:
        return expected_value(baseline, assumptions)
    return assumptions.baseline.value_per_prediction(assumptions.values, production_rate(model, assumptions))


@dataclass(frozen=True)
class Operations:
    """What deploying means for the people who act: a month at full volume, at the production rate."""

    actions_per_month: Decimal
    catches_per_month: Decimal
    false_alarms_per_month: Decimal
    capacity_per_month: Decimal | None
    # True when the capacity, not the value, set the threshold.
    capacity_binds: bool


def operations(model: Confusion, assumptions: Assumptions, *, capacity_binds: bool = False) -> Operations:
    """Actions = volume × (p·TPR + (1−p)·FPR); catches = volume × p·TPR; false alarms = volume × (1−p)·FPR."""
    p, volume = production_rate(model, assumptions), assumptions.predictions_per_month
    return Operations(
        actions_per_month=volume * action_rate(model, assumptions.values),
        catches_per_month=volume * p * model.tpr,
        false_alarms_per_month=volume * (ONE - p) * model.fpr,
        capacity_per_month=assumptions.capacity_per_month,
        capacity_binds=capacity_binds,
    )


# -- money over time -------------------------------------------------------------------------------


def _ramp(month: int, ramp_up: int) -> Decimal:
    """The share of the full benefit earned in ``month`` (1-based): linear to full over ``ramp_up``."""
    return ONE if ramp_up <= 0 or month >= ramp_up else Decimal(month) / Decimal(ramp_up)


def npv_factors(assumptions: Assumptions) -> tuple[Decimal, Decimal, Decimal]:
    """(Σ ramp_m·d^m, Σ d^m, Σ ramp_m) over m = 1..horizon, with d = (1 + r)^(−1/12).

    Cash flows fall at the end of each month. NPV = −development + benefit × the first −
    running cost × the second; the third is the undiscounted count of full-benefit months.
    """
    horizon, ramp_up = assumptions.horizon_months, assumptions.ramp_up_months
    d = (ONE + assumptions.discount_rate_annual) ** (-ONE / TWELVE)
    ramped_discounted = discounted = ramped = ZERO
    explicit = min(max(ramp_up, 0), horizon)
    for m in range(1, explicit + 1):
        share = _ramp(m, ramp_up)
        ramped_discounted += share * d**m
        discounted += d**m
        ramped += share
    rest = horizon - explicit
    if rest:
        # The months at full benefit form a geometric series.
        tail = Decimal(rest) if d == ONE else d ** (explicit + 1) * (ONE - d**rest) / (ONE - d)
        ramped_discounted += tail
        discounted += tail
        ramped += rest
    return ramped_discounted, discounted, ramped


def payback_months(
    development: Decimal, monthly_benefit: Decimal, assumptions: Assumptions, *, discounted: bool = False
) -> Decimal | None:
    """Months until the cumulative (ramped benefit − running cost) covers the development cost.

    Interpolated within the month; each month's net cash flow discounted to today when
    ``discounted``. None when it is not reached within the horizon.
    """
    running, ramp_up = assumptions.running_cost_per_month, max(assumptions.ramp_up_months, 0)
    d = (ONE + assumptions.discount_rate_annual) ** (-ONE / TWELVE) if discounted else ONE
    gained = ZERO
    factor = ONE
    for m in range(1, assumptions.horizon_months + 1):
        factor *= d
        net = (monthly_benefit * _ramp(m, ramp_up) - running) * factor
        if net > 0 and gained + net >= development:
            return Decimal(m - 1) + (development - gained) / net
        gained += net
        if m >= ramp_up and net <= 0:
            return None  # a steady month that gains nothing never will
    return None


@dataclass(frozen=True)
class Valuation:
    """Every output figure, exact. ``None`` means undefined, and the ``*_reason`` says why.

    ``npv`` is forward-looking: only the costs still to come count, and the deploy decision
    rests on it. ``npv_all_costs``, ``net_benefit`` and ``roi`` answer "was it worth it?":
    every development cost, spent or to come.
    """

    value_per_prediction_model: Decimal
    value_per_prediction_baseline: Decimal
    uplift_per_prediction: Decimal
    monthly_benefit: Decimal  # at full ramp
    development_cost: Decimal | None
    cost_to_come: Decimal
    cost_spent: Decimal
    running_cost: Decimal  # over the horizon
    total_cost: Decimal
    gross_benefit: Decimal  # ramped, undiscounted
    net_benefit: Decimal
    npv: Decimal  # forward: costs still to come
    npv_all_costs: Decimal
    roi: Decimal | None
    payback_months: Decimal | None
    payback_months_discounted: Decimal | None
    break_even_predictions_per_month: Decimal | None
    roi_reason: str | None = None
    payback_reason: str | None = None
    break_even_reason: str | None = None


NO_DEVELOPMENT_COST = "undefined: no development cost found"


def valuation(model_value: Decimal, baseline_value: Decimal, assumptions: Assumptions) -> Valuation:
    """Benefit, costs, net benefit, both NPVs, ROI, payback and break-even from the two values per prediction."""
    uplift = model_value - baseline_value
    monthly = uplift * assumptions.predictions_per_month
    ramped_discounted, discounted, ramped = npv_factors(assumptions)
    development = assumptions.development_cost
    spent = development or ZERO
    running = assumptions.running_cost_per_month * Decimal(assumptions.horizon_months)
    total = spent + running
    gross = monthly * ramped
    net = gross - total
    flows = monthly * ramped_discounted - assumptions.running_cost_per_month * discounted
    roi: Decimal | None = None
    roi_reason = payback_reason = break_even_reason = None
    if development is None or development <= 0:
        roi_reason = NO_DEVELOPMENT_COST
    else:
        roi = net / total
    payback = payback_discounted = None
    if development is None or development <= 0:
        payback_reason = NO_DEVELOPMENT_COST
    else:
        payback = payback_months(development, monthly, assumptions)
        payback_discounted = payback_months(development, monthly, assumptions, discounted=True)
        if payback is None:
            payback_reason = f"not within the {assumptions.horizon_months}-month horizon"
    break_even = None
    if uplift <= 0 or ramped == 0:
        break_even_reason = "none: the model is worth no more per prediction than the baseline"
    else:
        break_even = total / (uplift * ramped)
    return Valuation(
        value_per_prediction_model=model_value,
        value_per_prediction_baseline=baseline_value,
        uplift_per_prediction=uplift,
        monthly_benefit=monthly,
        development_cost=development,
        cost_to_come=assumptions.cost_to_come,
        cost_spent=assumptions.cost_spent,
        running_cost=running,
        total_cost=total,
        gross_benefit=gross,
        net_benefit=net,
        npv=flows - assumptions.cost_to_come,
        npv_all_costs=flows - spent,
        roi=roi,
        payback_months=payback,
        payback_months_discounted=payback_discounted,
        break_even_predictions_per_month=break_even,
        roi_reason=roi_reason,
        payback_reason=payback_reason,
        break_even_reason=break_even_reason,
    )


def classification_value(model: Confusion, baseline: Confusion | None, assumptions: Assumptions) -> Valuation:
    """The model's decisions against the baseline's: another model's decisions, or the baseline's kind."""
    return valuation(expected_value(model, assumptions), baseline_value(model, baseline, assumptions), assumptions)


def regression_value(
    model_abs_error: Decimal, baseline_abs_error: Decimal, rows: Decimal, assumptions: Assumptions
) -> Valuation:
    """Each unit of absolute error costs ``value_per_unit_error``; the model avoids some of it."""
    model_value = -assumptions.value_per_unit_error * model_abs_error / rows
    baseline_value = -assumptions.value_per_unit_error * baseline_abs_error / rows
    return valuation(model_value, baseline_value, assumptions)
