"""The ROI report's figures (``roi.json``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reports.figures._codec import Figures, Json
from reports.figures._sources import Provenance, SpendFigures

REPORT_SCHEMA = "tracker.roi-report/3"


@dataclass(frozen=True)
class HeadlineFigures(Figures):
    """The figures page 1 and the command line lead with.

    ``npv`` is the figure the verdict rests on: the forward NPV (``npv_forward``, the costs
    still to come). ``npv_all_costs``, ``net_benefit`` and ``roi_percent`` answer "was it
    worth it?" (every cost, spent or to come). P10/P50/P90 and the mean are the simulation's,
    of the forward NPV; ``npv`` is the point estimate at the likely values.
    """

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
    # roi-report/3; a report of an older schema reads these as None.
    npv_forward: Decimal | None = None
    npv_all_costs: Decimal | None = None
    npv_p50: Decimal | None = None
    npv_mean: Decimal | None = None
    payback_months_discounted: Decimal | None = None
    cost_to_come: Decimal | None = None
    cost_spent: Decimal | None = None
    verdict_on: str = "npv_forward"


@dataclass(frozen=True)
class AlternativeFigures(Figures):
    """The other baseline a reader would ask about, in one line: its value per prediction, the NPV against it."""

    kind: str
    words: str
    value_per_prediction: Decimal
    npv: Decimal


@dataclass(frozen=True)
class BaselineFigures(Figures):
    """What the business does today, which the model's value is measured against."""

    kind: str  # no_action, act_on_all, act_on_share, model
    words: str
    value_per_prediction: Decimal
    chosen_by: str  # "configured" or "the better of no_action and act_on_all at the production rate"
    share: Decimal | None = None
    alternative: AlternativeFigures | None = None


@dataclass(frozen=True)
class ScenarioFigures(Figures):
    npv: Decimal


@dataclass(frozen=True)
class ScenariosFigures(Figures):
    """NPV with every ranged assumption at its low, its likely value (base), and its high, together."""

    low: ScenarioFigures
    base: ScenarioFigures
    high: ScenarioFigures


@dataclass(frozen=True)
class OperationsFigures(Figures):
    """A month at full volume, at the production rate: what the people who act will see."""

    actions_per_month: Decimal
    catches_per_month: Decimal
    false_alarms_per_month: Decimal
    capacity_per_month: Decimal | None
    capacity_binds: bool


@dataclass(frozen=True)
class AssumptionFigures(Figures):
    """One line of the assumptions register."""

    name: str
    value: Decimal
    low: Decimal | None
    high: Decimal | None
    source: str | None
    owner: str | None
    measured: bool
    unit: str


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
    spent: bool = False


@dataclass(frozen=True)
class RangeFigures(Figures):
    """An assumption given as a range: its label and its low, likely and high values."""

    label: str
    low: Decimal
    likely: Decimal
    high: Decimal
    unit: str = ""  # money, rate, count or months


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
    npv_mean: Decimal | None = None


@dataclass(frozen=True)
class SensitivityRow(Figures):
    """NPV with one assumption at its low and its high value, the others at their likely value."""

    assumption: str
    low: Decimal
    high: Decimal
    range: str
    npv_low: Decimal
    npv_high: Decimal
    unit: str = ""  # money, rate, count or months: how low and high print


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
    # roi-report/3; a report of an older schema reads these as None or empty.
    baseline: BaselineFigures | None = None
    scenarios: ScenariosFigures | None = None
    operations: OperationsFigures | None = None
    assumptions: tuple[AssumptionFigures, ...] = ()

    def _omitted(self) -> frozenset[str]:
        # A regression has no decision threshold, no confusion matrix and no actions to count.
        if self.decision is not None:
            return frozenset()
        return frozenset({"decision", "confusion_matrix", "operations"})
