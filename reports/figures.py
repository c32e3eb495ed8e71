"""The figures of a report, as one typed contract: every view of a report reads these fields.

``roi.json`` is :meth:`RoiFigures.to_json`; the PDF and HTML render the same objects; the
CLI prints their headline; the MLflow metrics are their headline figures; ``tracker
realized`` reads its plan back with :meth:`RoiFigures.from_json`. The realized report's
figures (:class:`RealizedFigures`) are the same kind of value.

Every figure holds what the report publishes: money rounded to the cent, ratios to four
places, percentages whole, each a ``Decimal``; a decision threshold is the exact float.
So ``from_json(to_json())`` is the same value, and a plan read back from a logged report
is the plan that report showed. Adding a figure is one field here and one template line.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, TypeVar, Union

from tracker.money import cents

__all__ = [
    "REALIZED_SCHEMA",
    "REPORT_SCHEMA",
    "ActionFigures",
    "ConfusionCell",
    "ConfusionCells",
    "ConfusionFigures",
    "DecisionFigures",
    "DevelopmentCostLine",
    "DriftFigures",
    "Figures",
    "HeadlineFigures",
    "Interval",
    "Json",
    "MonthFigures",
    "OneOffCostFigures",
    "OutcomeCounts",
    "OutcomeValueFigures",
    "PlanFigures",
    "Provenance",
    "QualityRow",
    "RangeFigures",
    "RealizedFigures",
    "RealizedHeadline",
    "RoiFigures",
    "SensitivityFigures",
    "SensitivityRow",
    "SpendFigures",
    "SpendLine",
    "ToDateFigures",
    "TopTrial",
    "TuningFigures",
    "UncertaintyFigures",
    "ValueModelFigures",
    "money",
    "percent_whole",
    "ratio",
    "score",
]

REPORT_SCHEMA = "tracker.roi-report/2"
REALIZED_SCHEMA = "tracker.realized-report/1"

# A JSON value: what a config snapshot, a spend filter or a source's details are.
Json = dict[str, "Json"] | list["Json"] | str | int | float | bool | None

_RATIO = Decimal("0.0001")
_WHOLE = Decimal(1)


# -- how each kind of figure is published ------------------------------------------------------------


def money(value: Decimal | None) -> Decimal | None:
    """Money as the report states it: to the cent, half up, never ``-0.00``."""
    return None if value is None else cents(value)


def ratio(value: Decimal | None) -> Decimal | None:
    """A ratio (a probability, a rate, ROI as a fraction) to four places."""
    return None if value is None else value.quantize(_RATIO, ROUND_HALF_UP)


def percent_whole(value: Decimal | None) -> Decimal | None:
    """A ratio as a whole percent (6.0529 -> 605): ROI is never shown to two decimals of a tiny denominator."""
    return None if value is None else (value * 100).quantize(_WHOLE, ROUND_HALF_UP)


def score(value: float | Decimal | None) -> Decimal | None:
    """A quality metric or a share for a table: four places."""
    return None if value is None else Decimal(f"{float(value):.4f}")


# -- the codec: dataclass <-> JSON, driven by the field types -------------------------------------------

_T = TypeVar("_T", bound="Figures")


class Figures:
    """A frozen dataclass of figures, written to JSON by its field types and read back the same way.

    ``Decimal`` is written as its text, a ``float`` (an exact threshold) as its ``repr``, a
    ``date`` in ISO form; nested figures, tuples and mappings in kind. A subclass may name
    fields left out of the JSON when they do not apply (:meth:`_omitted`).
    """

    # Fields whose JSON key differs from the field's name.
    _keys: ClassVar[Mapping[str, str]] = {}

    def _omitted(self) -> frozenset[str]:
        """Fields that do not apply to this value and are left out of its JSON."""
        return frozenset()

    def to_json(self) -> dict[str, Json]:
        """The figures as a JSON object, keys in field order."""
        omitted = self._omitted()
        return {
            self._keys.get(f.name, f.name): _as_is(getattr(self, f.name))
            if f.type == "Json"
            else _encode(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name not in omitted
        }

    @classmethod
    def from_json(cls: type[_T], data: Mapping[str, Any]) -> _T:
        """The figures of a JSON object written by :meth:`to_json`; a field left out reads as its default."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            key = cls._keys.get(f.name, f.name)
            if key in data:
                values[f.name] = _decode(hints[f.name], data[key])
        return cls(**values)


def _as_is(value: Json) -> Json:
    """A field that holds JSON already (a config snapshot, a filter): written as it is."""
    return value


def _encode(value: object) -> Json:
    if isinstance(value, Figures):
        return value.to_json()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in value.items()}
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _decode(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if data is None:
            return None
        return _decode(options[0], data) if len(options) == 1 else data  # Json: kept as it is
    if isinstance(hint, type) and issubclass(hint, Figures):
        return hint.from_json(data)
    if hint is Decimal:
        return Decimal(data)
    if hint is float:
        return float(data)
    if hint is date:
        return date.fromisoformat(data)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_decode(item, value) for value in data)
    if origin in (dict, Mapping):
        item = typing.get_args(hint)[1]
        return {key: _decode(item, value) for key, value in data.items()}
    return data


# -- the ROI report ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadlineFigures(Figures):
    """The figures page 1 and the command line lead with."""

    currency: str
    recommendation: str
    reason: str
    npv: Decimal
    npv_p10: Decimal
    npv_p90: Decimal
    net_benefit: Decimal
    roi_percent: Decimal | None
    roi_p10_percent: Decimal | None
    roi_p90_percent: Decimal | None
    roi_note: str | None
    probability_npv_positive: Decimal
    monthly_benefit: Decimal
    development_cost: Decimal | None
    development_cost_basis: str  # "billed" or "estimated"
    payback_months: Decimal | None  # to one decimal
    payback_note: str | None
    horizon_months: int
    warnings: tuple[str, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class OutcomeValueFigures(Figures):
    """Money per prediction with each outcome, against taking no action."""

    true_positive: Decimal
    false_positive: Decimal
    false_negative: Decimal
    true_negative: Decimal

    def items(self) -> tuple[tuple[str, Decimal], ...]:
        """(outcome, value) in the order a confusion matrix is read."""
        return tuple((f.name, getattr(self, f.name)) for f in dataclasses.fields(self))


@dataclass(frozen=True)
class ActionFigures(Figures):
    """The action template: what acting on a flag earns and costs."""

    value_if_caught: Decimal
    success_rate: Decimal
    action_cost: Decimal


@dataclass(frozen=True)
class OneOffCostFigures(Figures):
    name: str
    amount: Decimal


@dataclass(frozen=True)
class RangeFigures(Figures):
    """An assumption given as a range: its label and its low, likely and high values."""

    label: str
    low: Decimal
    likely: Decimal
    high: Decimal


_CLASSIFIER_ONLY = frozenset({"test_positive_rate", "value_per_outcome", "action"})
_REGRESSION_ONLY = frozenset({"value_per_unit_error"})


@dataclass(frozen=True)
class ValueModelFigures(Figures):
    """The value model: its inputs (assumptions) and every figure computed from them."""

    task: str
    currency: str
    baseline: str
    horizon_months: int
    predictions_per_month: Decimal
    production_positive_rate: Decimal | None
    test_positive_rate: Decimal | None = None  # classifier
    value_per_outcome: OutcomeValueFigures | None = None  # classifier
    value_per_unit_error: Decimal | None = None  # regression
    value_of_a_catch: Decimal | None = None
    action: ActionFigures | None = None  # classifier, when given
    cloud_cost: Decimal | None = None
    one_off_costs: tuple[OneOffCostFigures, ...] = ()
    development_cost: Decimal | None = None
    running_cost_per_month: Decimal = Decimal(0)
    running_cost_source: str = ""
    discount_rate_annual: Decimal = Decimal(0)
    ramp_up_months: int = 0
    ranges: dict[str, RangeFigures] = field(default_factory=dict)
    value_per_prediction_model: Decimal = Decimal(0)
    value_per_prediction_baseline: Decimal = Decimal(0)
    uplift_per_prediction: Decimal = Decimal(0)
    monthly_benefit: Decimal = Decimal(0)
    gross_benefit: Decimal = Decimal(0)
    running_cost: Decimal = Decimal(0)
    total_cost: Decimal = Decimal(0)
    net_benefit: Decimal = Decimal(0)
    npv: Decimal = Decimal(0)
    roi: Decimal | None = None
    roi_percent: Decimal | None = None
    roi_note: str | None = None
    payback_months: Decimal | None = None
    payback_note: str | None = None
    break_even_predictions_per_month: Decimal | None = None
    break_even_note: str | None = None

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"

    def _omitted(self) -> frozenset[str]:
        return _REGRESSION_ONLY if self.is_classifier else _CLASSIFIER_ONLY


@dataclass(frozen=True)
class DecisionFigures(Figures):
    """How a classifier's scores become decisions."""

    threshold: float
    rule: str
    chosen_on: str
    value_per_prediction_at_threshold: Decimal
    value_per_prediction_at_0_5: Decimal
    npv_at_0_5: Decimal


@dataclass(frozen=True)
class ConfusionCell(Figures):
    count: int
    value_each: Decimal
    total: Decimal


@dataclass(frozen=True)
class ConfusionCells(Figures):
    """The four outcomes of the test set's decisions."""

    tp: ConfusionCell
    fp: ConfusionCell
    fn: ConfusionCell
    tn: ConfusionCell


@dataclass(frozen=True)
class OutcomeCounts(Figures):
    """How many of each outcome a set of decisions had."""

    tp: int
    fp: int
    fn: int
    tn: int


@dataclass(frozen=True)
class ConfusionFigures(Figures):
    """The test set's decisions at the threshold, each outcome with its value; the baseline's counts."""

    test_rows: int
    cells: ConfusionCells
    tpr: Decimal
    fpr: Decimal
    baseline: OutcomeCounts


@dataclass(frozen=True)
class QualityRow(Figures):
    """One quality metric: the model on test and validation, and the baseline on test."""

    metric: str
    definition: str
    test: Decimal | None
    validation: Decimal | None
    baseline: Decimal | None


@dataclass(frozen=True)
class UncertaintyFigures(Figures):
    """The simulation's spread of NPV and ROI."""

    method: str
    replicates: int
    seed: int
    varied: tuple[str, ...]
    npv_p10: Decimal
    npv_p50: Decimal
    npv_p90: Decimal
    roi_p10_percent: Decimal | None
    roi_p50_percent: Decimal | None
    roi_p90_percent: Decimal | None
    probability_npv_positive: Decimal


@dataclass(frozen=True)
class SensitivityRow(Figures):
    """NPV with one assumption at its low and its high value, the others at their likely value."""

    assumption: str
    low: Decimal
    high: Decimal
    range: str
    npv_low: Decimal
    npv_high: Decimal


@dataclass(frozen=True)
class SensitivityFigures(Figures):
    figure: str
    rows: tuple[SensitivityRow, ...]


@dataclass(frozen=True)
class TopTrial(Figures):
    """One of the sweep's best trials: its objective value (keyed by the metric's name in JSON)."""

    trial: int
    value: Decimal | None
    test: Decimal | None
    params: dict[str, str]
    run_id: str


@dataclass(frozen=True)
class TuningFigures(Figures):
    """What the sweep did: trials by state, its best trials, parameter importances, why it stopped."""

    metric: str
    direction: str
    trials_by_state: dict[str, int]
    trials: int
    estimated_cost_usd: Decimal
    top_trials: tuple[TopTrial, ...]
    parameter_importances: dict[str, str]
    stop_reason: str | None

    def to_json(self) -> dict[str, Json]:
        out = super().to_json()
        out["top_trials"] = [_keyed_by_metric(row.to_json(), self.metric) for row in self.top_trials]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TuningFigures:
        metric = data["metric"]
        rows = [
            {("value" if key == metric else key): value for key, value in row.items()} for row in data["top_trials"]
        ]
        return super().from_json({**data, "top_trials": rows})


def _keyed_by_metric(row: dict[str, Json], metric: str) -> dict[str, Json]:
    return {(metric if key == "value" else key): value for key, value in row.items()}


@dataclass(frozen=True)
class SpendWindowFigures(Figures):
    start: date | None
    end: date | None
    chosen_by: str
    runs_first_day: date | None
    runs_last_day: date | None


@dataclass(frozen=True)
class SpendLine(Figures):
    """An amount of spend by one key: a service, a charge type, a period."""

    key: str
    amount: Decimal
    # A charge type's amount to every digit, beside its cents.
    amount_exact: str | None = None


@dataclass(frozen=True)
class PeriodLine(Figures):
    period_start: str
    period_end: str
    amount: Decimal


@dataclass(frozen=True)
class DevelopmentCostLine(Figures):
    line: str
    amount: Decimal


@dataclass(frozen=True)
class EstimateBeside(Figures):
    """The sweep's own estimate from trial durations, set beside billed spend."""

    total: Decimal
    currency: str
    source: str


@dataclass(frozen=True)
class SpendFigures(Figures):
    """The development spend: where it came from, its total, and its lines by service, type and period."""

    source: str
    window: SpendWindowFigures
    filter: Json
    basis: str
    metric: str
    currency: str
    total: Decimal
    total_exact: str
    estimated: bool
    estimated_lines: int
    by_service: tuple[SpendLine, ...]
    by_charge_type: tuple[SpendLine, ...]
    development_cost_lines: tuple[DevelopmentCostLine, ...]
    development_cost: Decimal | None
    by_period: tuple[PeriodLine, ...]
    by_period_shown: tuple[PeriodLine, ...]
    shown_as: str
    details: dict[str, str]
    notes: tuple[str, ...]
    estimated_alongside: EstimateBeside | None

    def to_json(self) -> dict[str, Json]:
        out = super().to_json()
        out["by_service"] = [_spend_line(line, "service") for line in self.by_service]
        out["by_charge_type"] = [_spend_line(line, "charge_type") for line in self.by_charge_type]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpendFigures:
        lines = {
            name: [{("key" if k == key else k): v for k, v in row.items()} for row in data[name]]
            for name, key in (("by_service", "service"), ("by_charge_type", "charge_type"))
        }
        return super().from_json({**data, **lines})


def _spend_line(line: SpendLine, key: str) -> dict[str, Json]:
    out: dict[str, Json] = {key: line.key, "amount": str(line.amount)}
    if line.amount_exact is not None:
        out["amount_exact"] = line.amount_exact
    return out


@dataclass(frozen=True)
class Links(Figures):
    sweep: str | None
    best: str | None


@dataclass(frozen=True)
class Provenance(Figures):
    """Where the figures came from: the experiment, the runs, the store, the tool, the config."""

    experiment: str
    experiment_id: str
    sweep_run_id: str | None
    best_run_id: str
    links: Links | None
    tracking_uri: str
    tool: str
    version: str
    generated_at: str
    config: Json

    def _omitted(self) -> frozenset[str]:
        # The realized report's provenance has no links.
        return frozenset({"links"}) if self.links is None else frozenset()


@dataclass(frozen=True)
class RoiFigures(Figures):
    """Every figure of the ROI report (``roi.json``)."""

    schema: str
    headline: HeadlineFigures
    quality_in_words: tuple[str, ...]
    value_model: ValueModelFigures
    decision: DecisionFigures | None
    confusion_matrix: ConfusionFigures | None
    quality: tuple[QualityRow, ...]
    uncertainty: UncertaintyFigures
    sensitivity: SensitivityFigures
    tuning: TuningFigures
    spend: SpendFigures
    provenance: Provenance

    def _omitted(self) -> frozenset[str]:
        # A regression has no decision threshold and no confusion matrix.
        return frozenset() if self.decision is not None else frozenset({"decision", "confusion_matrix"})


# -- the realized report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToDateFigures(Figures):
    """The project to date: realized against planned, after the development cost."""

    realized_net: Decimal
    planned_net: Decimal
    development_cost: Decimal | None
    net_after_development: Decimal
    roi_percent: Decimal | None
    npv: Decimal
    payback_month: str | None
    status: str  # ahead, on plan, behind


@dataclass(frozen=True)
class RealizedHeadline(Figures):
    """Page 1 of the realized report: the recommendation, the project to date, the latest drift."""

    currency: str
    recommendation: str  # keep, watch, retrain
    reasons: tuple[str, ...]
    realized_net: Decimal
    planned_net: Decimal
    development_cost: Decimal | None
    net_after_development: Decimal
    roi_percent: Decimal | None
    npv: Decimal
    payback_month: str | None
    status: str
    drift_status: str
    latest_psi: Decimal
    latest_month: str
    latest_share_labelled: Decimal | None


@dataclass(frozen=True)
class PlanFigures(Figures):
    """The plan a realized report compares against, as it read it."""

    source: str
    threshold: float | None
    planned_positive_rate: Decimal | None
    uplift_per_prediction: Decimal
    predictions_per_month: Decimal
    running_cost_per_month: Decimal
    ramp_up_months: int
    development_cost: Decimal | None
    discount_rate_annual: Decimal
    monthly_benefit: Decimal


@dataclass(frozen=True)
class Interval(Figures):
    """A rate and its Wilson interval."""

    value: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class GapFigures(Figures):
    """planned − realized, split into volume, base rate and model quality."""

    volume: Decimal
    base_rate: Decimal
    quality: Decimal
    total: Decimal


@dataclass(frozen=True)
class MonthFigures(Figures):
    """One calendar month of production against the plan."""

    month: str
    index: int
    predictions: int
    labelled: int
    share_labelled: Decimal | None
    tp: int
    fp: int
    fn: int
    tn: int
    realized_value_labelled: Decimal | None
    realized_value: Decimal | None
    realized_value_estimated: bool
    planned_value: Decimal
    running_cost: Decimal
    running_cost_basis: str
    realized_net: Decimal | None
    planned_net: Decimal
    psi: Decimal
    positive_rate: Decimal | None
    precision: Interval | None
    recall: Interval | None
    gap: GapFigures | None


@dataclass(frozen=True)
class DriftFigures(Figures):
    psi: Decimal
    status: str
    positive_rate: Decimal | None
    planned_positive_rate: Decimal | None
    test_recall: Decimal | None
    test_precision: Decimal | None


@dataclass(frozen=True)
class RecommendationFigures(Figures):
    decision: str  # keep, watch, retrain
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class DateWindow(Figures):
    start: date | None
    end: date | None


@dataclass(frozen=True)
class InputFigures(Figures):
    """The production log read: where, how many files, the window, the rows left out."""

    outcomes: str
    files: int
    window: DateWindow
    rows_outside_window: int


@dataclass(frozen=True)
class RealizedFigures(Figures):
    """Every figure of the realized report (``realized.json``)."""

    schema: str
    headline: RealizedHeadline
    plan: PlanFigures
    months: tuple[MonthFigures, ...]
    to_date: ToDateFigures
    drift: DriftFigures
    recommendation: RecommendationFigures
    input: InputFigures
    provenance: Provenance
