"""The ``roi`` section: the value model's assumptions, each a number or a ``{low, likely, high}`` range."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tracker.config._common import (
    _Section,
)


class Estimate(_Section):
    """A number known only within bounds: ``{low, likely, high}``. The report uses ``likely``
    and draws the rest of the range (triangular) in its Monte Carlo. ``source`` and ``owner``
    (text) say where the figure comes from and who answers for it (the assumptions register)."""

    low: Decimal = Field(allow_inf_nan=False)
    likely: Decimal = Field(allow_inf_nan=False)
    high: Decimal = Field(allow_inf_nan=False)
    source: str | None = Field(None, max_length=500)
    owner: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _ordered(self) -> Estimate:
        if not self.low <= self.likely <= self.high:
            raise ValueError(f"needs low <= likely <= high, got {self.low}, {self.likely}, {self.high}")
        return self


class Stated(_Section):
    """A single number with where it comes from: ``{value, source, owner}``."""

    value: Decimal = Field(allow_inf_nan=False)
    source: str | None = Field(None, max_length=500)
    owner: str | None = Field(None, max_length=200)


def _as_estimate(value: Any) -> Any:
    """A mapping is a range (or a stated number), and its own error says what is wrong with it."""
    if not isinstance(value, Mapping):
        return value
    try:
        if "value" in value:
            return Stated.model_validate(value)
        return Estimate.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {message}" if where else message) from None


# The analysis computes in Decimal and, for its simulation and charts, in floats: every figure
# stays within a quadrillion, far beyond any business case and far inside a float's range.
LARGEST = Decimal("1e15")


def _bounded(value: Any) -> Any:
    """Every number of an assumption finite and within ±LARGEST."""
    numbers: tuple[Decimal, ...]
    if isinstance(value, Estimate):
        numbers = (value.low, value.likely, value.high)
    elif isinstance(value, Stated):
        numbers = (value.value,)
    else:
        numbers = (value,)
    for number in numbers:
        if not number.is_finite() or abs(number) > LARGEST:
            raise ValueError(f"{number} is beyond the range the analysis computes with (-1e15 to 1e15)")
    return value


# An assumption of the value model: a number, a number with its source, or a range around its likely value.
Assumed = Annotated[Decimal | Estimate | Stated, BeforeValidator(_as_estimate), AfterValidator(_bounded)]


def likely(value: Assumed) -> Decimal:
    """The value the report's point estimate uses."""
    if isinstance(value, Estimate):
        return value.likely
    return value.value if isinstance(value, Stated) else value


def source_and_owner(value: Assumed | None) -> tuple[str | None, str | None]:
    """Where an assumption comes from and who answers for it, when the config says."""
    if isinstance(value, Estimate | Stated):
        return value.source, value.owner
    return None, None


def _within(value: Assumed | None, low: Decimal | None, high: Decimal | None, *, open_ends: bool = False) -> str | None:
    """Why ``value`` (every bound of a range) falls outside [low, high], or None."""
    if value is None:
        return None
    for number in (value.low, value.likely, value.high) if isinstance(value, Estimate) else (likely(value),):
        if not number.is_finite():
            return "must be a finite number"
        below = low is not None and (number <= low if open_ends else number < low)
        above = high is not None and (number >= high if open_ends else number > high)
        if below or above:
            brackets = "()" if open_ends else "[]"
            lower = "-inf" if low is None else low
            upper = "inf" if high is None else high
            return f"{number} is outside {brackets[0]}{lower}, {upper}{brackets[1]}"
    return None


class ValuePerOutcome(_Section):
    """Money per prediction with each outcome (classification), each against taking no action."""

    true_positive: Assumed
    false_positive: Assumed
    false_negative: Assumed
    true_negative: Assumed


class ActionValues(_Section):
    """The simpler value model: TP = success_rate x value_if_caught - action_cost, FP = -action_cost."""

    value_if_caught: Assumed
    success_rate: Assumed
    action_cost: Assumed

    @model_validator(mode="after")
    def _rates(self) -> ActionValues:
        problem = _within(self.success_rate, Decimal(0), Decimal(1))
        if problem:
            raise ValueError(f"success_rate: {problem}")
        problem = _within(self.action_cost, Decimal(0), None)
        if problem:
            raise ValueError(f"action_cost: {problem}")
        return self


class OneOffCostConfig(_Section):
    """A development cost the cloud bill does not show (people's time, licences, labelling).

    ``spent: true`` says it is already paid: it counts in "was it worth it?" but not in the
    forward-looking NPV the deploy decision rests on.
    """

    name: str = Field(min_length=1, max_length=200)
    amount: Assumed
    spent: bool = False
    source: str | None = Field(None, max_length=500)
    owner: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _positive(self) -> OneOffCostConfig:
        problem = _within(self.amount, Decimal(0), None)
        if problem:
            raise ValueError(f"amount: {problem}")
        return self


class RunningCostFrom(_Section):
    """Tags that select spend (the running cost measured from the bill)."""

    tags: dict[str, str] = Field(min_length=1)


class RoiConfig(_Section):
    """The expected-value model that turns model quality into money."""

    currency: str = "USD"
    horizon_months: int = Field(12, ge=1, le=1200)
    predictions_per_month: Assumed = Decimal(20000)
    value_per_outcome: ValuePerOutcome | None = None
    action: ActionValues | None = None
    value_per_unit_error: Assumed | None = None
    production_positive_rate: Assumed | None = None
    # What the business does today. None: the better of no_action and act_on_all.
    baseline: Literal["no_action", "no_model", "act_on_all"] | dict[str, Any] | None = None
    running_cost_per_month: Assumed = Decimal(0)
    running_cost_from: RunningCostFrom | None = None
    one_off_costs: list[OneOffCostConfig] = Field(default_factory=list)
    discount_rate_annual: Assumed = Decimal("0.10")
    ramp_up_months: int = Field(0, ge=0, le=1200)
    # At most this many actions a month (calls an agency can make): the threshold respects it.
    capacity_per_month: Decimal | None = Field(None, gt=0, le=Decimal("1e15"), allow_inf_nan=False)
    # Who prepared the report, on its sign-off page; the OS user when not given.
    prepared_by: str | None = Field(None, max_length=200)
    # How the report names the positive class in plain words ("customers who leave").
    positive_name: str = "positive cases"
    bootstrap_replicates: int = Field(1000, ge=50, le=100_000)

    @field_validator("baseline")
    @classmethod
    def _one_baseline(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        usage = "baseline is no_action, act_on_all, {act_on_share: S}, {run: RUN_ID} or {model: 'NAME@alias'}"
        if len(value) != 1 or next(iter(value)) not in ("act_on_share", "run", "model"):
            raise ValueError(usage)
        kind, given = next(iter(value.items()))
        if kind == "act_on_share":
            if isinstance(given, bool) or not isinstance(given, int | float | str | Decimal):
                raise ValueError(f"act_on_share: a share between 0 and 1, got {given!r}")
            try:
                share = Decimal(str(given))
            except ArithmeticError:
                raise ValueError(f"act_on_share: a share between 0 and 1, got {given!r}") from None
            if not share.is_finite() or not 0 <= share <= 1:
                raise ValueError(f"act_on_share: a share between 0 and 1, got {given!r}")
            return {kind: share}
        if not isinstance(given, str) or not given:
            raise ValueError(usage)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> RoiConfig:
        if self.value_per_outcome is not None and self.action is not None:
            raise ValueError("give either value_per_outcome or action, not both")
        checks = (
            ("predictions_per_month", self.predictions_per_month, Decimal(0), None, False),
            ("running_cost_per_month", self.running_cost_per_month, Decimal(0), None, False),
            ("production_positive_rate", self.production_positive_rate, Decimal(0), Decimal(1), True),
            ("discount_rate_annual", self.discount_rate_annual, Decimal(0), Decimal(1), False),
        )
        for name, value, low, high, open_ends in checks:
            problem = _within(value, low, high, open_ends=open_ends)
            if problem:
                raise ValueError(f"{name}: {problem}")
        names = [c.name for c in self.one_off_costs]
        if len(set(names)) != len(names):
            raise ValueError("one_off_costs: each cost needs its own name")
        return self


class RealizedConfig(_Section):
    """What ``tracker realized`` needs beyond the plan: when the model went into production.

    ``deployed_on`` is month 1 of the ramp-up and of the discounting; months are counted from
    it by the calendar. Without it, the production log's first month is taken.
    """

    deployed_on: date | None = None
