"""What moves the NPV: each assumption over its range (the tornado), and every range at once (the scenarios).

Pure, exact: the assumptions and a way to value them in; the NPV at each setting out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from reports.roi import Assumptions, with_value
from tracker.money import ONE, ZERO

__all__ = ["Sensitivity", "numeric_assumptions", "scenarios", "sensitivity", "unit_of"]


@dataclass(frozen=True)
class Sensitivity:
    """NPV with one assumption at its low and at its high, the others at their likely values."""

    assumption: str
    low_value: Decimal
    high_value: Decimal
    npv_low: Decimal
    npv_high: Decimal
    ranged: bool  # True: its own range; False: ±20%
    unit: str = "money"  # how its values print: money, rate, count or months

    @property
    def spread(self) -> Decimal:
        return abs(self.npv_high - self.npv_low)


SWING = Decimal("0.2")


def numeric_assumptions(assumptions: Assumptions) -> Iterable[tuple[str, str, Decimal]]:
    """(name for ``with_value``, label in words, likely value) of every numeric assumption."""
    if assumptions.action is not None:
        yield "action.value_if_caught", "value if caught", assumptions.action.value_if_caught
        yield "action.success_rate", "success rate of the action", assumptions.action.success_rate
        yield "action.action_cost", "cost of one action", assumptions.action.action_cost
    else:
        yield "value_tp", "value of a true positive", assumptions.value_tp
        yield "value_fp", "value of a false positive", assumptions.value_fp
        yield "value_fn", "value of a false negative", assumptions.value_fn
        yield "value_tn", "value of a true negative", assumptions.value_tn
    if assumptions.value_per_unit_error:
        yield "value_per_unit_error", "value per unit of error avoided", assumptions.value_per_unit_error
    if assumptions.production_positive_rate is not None:
        yield "production_positive_rate", "production positive rate", assumptions.production_positive_rate
    yield "predictions_per_month", "predictions per month", assumptions.predictions_per_month
    yield "running_cost_per_month", "running cost per month", assumptions.running_cost_per_month
    if assumptions.cloud_cost is not None:
        yield "cloud_cost", "cloud spend (development)", assumptions.cloud_cost
    for cost in assumptions.one_off_costs:
        yield f"one_off_costs.{cost.name}", f"one-off: {cost.name}", cost.amount
    yield "discount_rate_annual", "discount rate (annual)", assumptions.discount_rate_annual
    yield "ramp_up_months", "ramp-up (months)", Decimal(assumptions.ramp_up_months)
    yield "horizon_months", "horizon (months)", Decimal(assumptions.horizon_months)


_WHOLE_MONTHS = ("horizon_months", "ramp_up_months")


def _bounds(name: str, likely: Decimal, assumptions: Assumptions) -> tuple[Decimal, Decimal, bool]:
    """The low and high an assumption is moved to, as ``with_value`` will use them (months whole)."""
    given = assumptions.ranges.get(name)
    if given is not None:
        low, high, ranged = given.low, given.high, True
    else:
        low, high, ranged = likely * (ONE - SWING), likely * (ONE + SWING), False
        if name in ("production_positive_rate", "action.success_rate"):
            high = min(high, ONE)
    if name in _WHOLE_MONTHS:
        floor = ONE if name == "horizon_months" else ZERO
        low, high = max(floor, Decimal(round(low))), max(floor, Decimal(round(high)))
    return min(low, high), max(low, high), ranged


def sensitivity(npv_of: Callable[[Assumptions], Decimal], assumptions: Assumptions) -> list[Sensitivity]:
    """Each assumption over its own range (or ±20% of its likely value), the others held; largest first."""
    out = []
    for name, label, likely in numeric_assumptions(assumptions):
        low, high, ranged = _bounds(name, likely, assumptions)
        if low == high:
            continue
        npv_low, npv_high = npv_of(with_value(assumptions, name, low)), npv_of(with_value(assumptions, name, high))
        out.append(Sensitivity(label, low, high, npv_low, npv_high, ranged, unit_of(name)))
    out.sort(key=lambda s: s.spread, reverse=True)
    return out


_RATES = frozenset({"production_positive_rate", "action.success_rate", "discount_rate_annual"})


def unit_of(name: str) -> str:
    """How an assumption's values print: ``money``, ``rate`` (as a percent), ``count`` or ``months``."""
    if name in _RATES:
        return "rate"
    if name in _WHOLE_MONTHS:
        return "months"
    return "count" if name == "predictions_per_month" else "money"


def scenarios(npv_of: Callable[[Assumptions], Decimal], assumptions: Assumptions) -> dict[str, Decimal]:
    """NPV with every ranged assumption at its low, at its likely value, and at its high, together."""
    out = {}
    for scenario in ("low", "base", "high"):
        moved = assumptions
        for name, r in assumptions.ranges.items():
            at = {"low": r.low, "base": r.likely, "high": r.high}[scenario]
            moved = with_value(moved, name, at)
        out[scenario] = npv_of(moved)
    return out
