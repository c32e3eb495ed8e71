"""The value model's inputs: the assumptions, from the ``roi`` section and the evidence, and their register.

Pure, like :mod:`reports.analysis`: the settings and the evidence in, the assumptions out.
Every assumption is listed in the register with its value or range, where it comes from,
who answers for it, and whether it was measured (the test set, the bill) or stated.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from reports import roi
from tracker.config import Assumed, Estimate, likely, source_and_owner
from tracker.errors import ConfigError
from tracker.value import Baseline, Confusion, baseline_of

if TYPE_CHECKING:
    from reports.gather import Evidence
    from tracker.config import Settings

__all__ = ["Registered", "assumptions", "basis", "credit_surplus", "register"]


@dataclass(frozen=True)
class Registered:
    """One line of the assumptions register: what was assumed, where it comes from, who owns it."""

    name: str
    value: Decimal
    low: Decimal | None
    high: Decimal | None
    source: str | None
    owner: str | None
    measured: bool
    unit: str  # "money", "rate", "count", "months", "percent a year"


def assumptions(settings: Settings, evidence: Evidence) -> roi.Assumptions:
    """The value model's inputs from the ``roi`` section, the spend found and the measured running cost."""
    r = settings.roi
    baseline = _required(settings, evidence.task)
    ranges: dict[str, roi.Range] = {}

    def take(name: str, value: Assumed | None, default: Decimal = Decimal(0)) -> Decimal:
        if value is None:
            return default
        if isinstance(value, Estimate):
            ranges[name] = roi.Range(value.low, value.likely, value.high)
        return likely(value)

    values = r.value_per_outcome
    action = None
    if r.action is not None:
        action = roi.Action(
            value_if_caught=take("action.value_if_caught", r.action.value_if_caught),
            success_rate=take("action.success_rate", r.action.success_rate),
            action_cost=take("action.action_cost", r.action.action_cost),
        )
    running = (
        evidence.running.per_month if evidence.running else take("running_cost_per_month", r.running_cost_per_month)
    )
    return roi.Assumptions(
        currency=r.currency,
        horizon_months=r.horizon_months,
        predictions_per_month=take("predictions_per_month", r.predictions_per_month),
        running_cost_per_month=running,
        # Credits beyond usage floor the cloud cost at zero; they never reduce another cost.
        cloud_cost=max(evidence.spend.total, Decimal(0)) if evidence.spend.rows else None,
        one_off_costs=tuple(
            roi.OneOffCost(c.name, take(f"one_off_costs.{c.name}", c.amount), c.spent) for c in r.one_off_costs
        ),
        value_tp=take("value_tp", values.true_positive) if values else Decimal(0),
        value_fp=take("value_fp", values.false_positive) if values else Decimal(0),
        value_fn=take("value_fn", values.false_negative) if values else Decimal(0),
        value_tn=take("value_tn", values.true_negative) if values else Decimal(0),
        action=action,
        production_positive_rate=(
            take("production_positive_rate", r.production_positive_rate)
            if r.production_positive_rate is not None
            else None
        ),
        value_per_unit_error=take("value_per_unit_error", r.value_per_unit_error),
        discount_rate_annual=take("discount_rate_annual", r.discount_rate_annual),
        ramp_up_months=r.ramp_up_months,
        baseline=baseline,
        capacity_per_month=r.capacity_per_month,
        ranges=ranges,
    )


def _required(settings: Settings, task: str) -> Baseline:
    """The values the task needs are given, and the baseline suits the task; the baseline."""
    r = settings.roi
    if task == "classification" and r.value_per_outcome is None and r.action is None:
        raise ConfigError(
            "roi.value_per_outcome: required for a classifier; give true_positive, false_positive, "
            "false_negative and true_negative (money per prediction), or roi.action"
        )
    if task == "regression" and r.value_per_unit_error is None:
        raise ConfigError("roi.value_per_unit_error: required for a regression model (money per unit of error)")
    baseline = baseline_of(r)
    if task == "regression" and baseline.kind in ("act_on_all", "act_on_share"):
        raise ConfigError(
            "roi.baseline: act_on_all and act_on_share are for a classifier; a regression is valued against "
            "no_action (the training mean) or another {run: RUN_ID} / {model: 'NAME@alias'}"
        )
    return baseline


def credit_surplus(evidence: Evidence) -> Decimal:
    """Credits and refunds beyond the cloud usage: shown as their own line, never taken off another cost."""
    spend = evidence.spend
    return max(-spend.total, Decimal(0)) if spend.rows else Decimal(0)


def basis(evidence: Evidence) -> str:
    """Whether the development spend is billed or estimated."""
    spend = evidence.spend
    return "estimated" if spend.estimated or spend.source == "estimate" else "billed"


def register(
    settings: Settings, evidence: Evidence, a: roi.Assumptions, model: Confusion | None
) -> tuple[Registered, ...]:
    """Every assumption with its value or range, where it comes from, who owns it, measured or stated."""
    return (*_value_lines(settings, evidence, model), *_cost_lines(settings, evidence, a))


def _stated(name: str, config_value: Assumed | None, value: Decimal, unit: str) -> Registered:
    source, owner = source_and_owner(config_value)
    rng = config_value if isinstance(config_value, Estimate) else None
    low, high = (rng.low, rng.high) if rng else (None, None)
    return Registered(name, value, low, high, source or "stated in the config", owner, False, unit)


def _measured(name: str, value: Decimal, source: str, unit: str) -> Registered:
    return Registered(name, value, None, None, source, None, True, unit)


def _value_lines(settings: Settings, evidence: Evidence, model: Confusion | None) -> list[Registered]:
    """What an outcome is worth, and the rates: stated in the config or measured on the test set."""
    r, out = settings.roi, []
    if r.action is not None:
        out.append(_stated("value if caught", r.action.value_if_caught, likely(r.action.value_if_caught), "money"))
        out.append(_stated("success rate of the action", r.action.success_rate, likely(r.action.success_rate), "rate"))
        out.append(_stated("cost of one action", r.action.action_cost, likely(r.action.action_cost), "money"))
    elif r.value_per_outcome is not None and evidence.task == "classification":
        v = r.value_per_outcome
        for label, given in (
            ("value of a true positive", v.true_positive),
            ("value of a false positive", v.false_positive),
            ("value of a false negative", v.false_negative),
            ("value of a true negative", v.true_negative),
        ):
            out.append(_stated(label, given, likely(given), "money"))
    if evidence.task == "regression" and r.value_per_unit_error is not None:
        unit_error = r.value_per_unit_error
        out.append(_stated("value per unit of error avoided", unit_error, likely(unit_error), "money"))
    if model is not None:
        rate = r.production_positive_rate
        if rate is not None:
            out.append(_stated("production positive rate", rate, likely(rate), "rate"))
        else:
            out.append(_measured("production positive rate", model.positive_rate, "the test set's own rate", "rate"))
        test_rows = f"the test set ({model.n:,} rows) at the threshold"
        out.append(_measured("model's true-positive rate", model.tpr, test_rows, "rate"))
        out.append(_measured("model's false-positive rate", model.fpr, test_rows, "rate"))
    return out


def _cost_lines(settings: Settings, evidence: Evidence, a: roi.Assumptions) -> list[Registered]:
    """Volume, costs and the time value of money: from the config, or measured from the bill."""
    r = settings.roi
    out = [_stated("predictions per month", r.predictions_per_month, a.predictions_per_month, "count")]
    if evidence.running is not None:
        months = ", ".join(evidence.running.months)
        out.append(
            _measured("running cost per month", a.running_cost_per_month, f"the bill, average of {months}", "money")
        )
    else:
        out.append(_stated("running cost per month", r.running_cost_per_month, a.running_cost_per_month, "money"))
    if a.cloud_cost is not None:
        where = f"{basis(evidence)}, {evidence.spend.source}"
        out.append(_measured("cloud spend (development)", a.cloud_cost, where, "money"))
    for cost, configured in zip(a.one_off_costs, r.one_off_costs, strict=True):
        line = _stated(
            f"one-off: {cost.name} ({'spent' if cost.spent else 'to come'})", configured.amount, cost.amount, "money"
        )
        if configured.source is not None or configured.owner is not None:
            line = replace(line, source=configured.source or line.source, owner=configured.owner)
        out.append(line)
    out.append(_stated("discount rate (annual)", r.discount_rate_annual, a.discount_rate_annual, "rate"))
    out.append(_stated("ramp-up (months)", None, Decimal(a.ramp_up_months), "months"))
    out.append(_stated("horizon (months)", None, Decimal(a.horizon_months), "months"))
    if a.capacity_per_month is not None:
        out.append(_stated("capacity (actions a month)", None, a.capacity_per_month, "count"))
    return out
