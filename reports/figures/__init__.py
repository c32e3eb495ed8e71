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

from reports.figures._codec import (
    Figures,
    Json,
    money,
    percent_whole,
    ratio,
    score,
)
from reports.figures._realized import (
    REALIZED_SCHEMA,
    CalibrationFigures,
    DateWindow,
    DriftFigures,
    ExpectedFigures,
    GapFigures,
    InputFigures,
    Interval,
    MonthFigures,
    PlanFigures,
    RealizedFigures,
    RealizedHeadline,
    RecommendationFigures,
    ToDateFigures,
)
from reports.figures._roi import (
    REPORT_SCHEMA,
    ActionFigures,
    AlternativeFigures,
    AssumptionFigures,
    BaselineFigures,
    ConfusionCell,
    ConfusionCells,
    ConfusionFigures,
    DecisionFigures,
    HeadlineFigures,
    OneOffCostFigures,
    OperationsFigures,
    OutcomeCounts,
    OutcomeValueFigures,
    QualityRow,
    RangeFigures,
    RoiFigures,
    ScenarioFigures,
    ScenariosFigures,
    SensitivityFigures,
    SensitivityRow,
    TopTrial,
    TuningFigures,
    UncertaintyFigures,
    ValueModelFigures,
)
from reports.figures._sources import (
    DevelopmentCostLine,
    EstimateBeside,
    Links,
    PeriodLine,
    Provenance,
    SignOff,
    SpendFigures,
    SpendLine,
    SpendWindowFigures,
)

__all__ = [
    "REALIZED_SCHEMA",
    "REPORT_SCHEMA",
    "ActionFigures",
    "AlternativeFigures",
    "AssumptionFigures",
    "BaselineFigures",
    "CalibrationFigures",
    "ConfusionCell",
    "ConfusionCells",
    "ConfusionFigures",
    "DateWindow",
    "DecisionFigures",
    "DevelopmentCostLine",
    "DriftFigures",
    "EstimateBeside",
    "ExpectedFigures",
    "Figures",
    "GapFigures",
    "HeadlineFigures",
    "InputFigures",
    "Interval",
    "Json",
    "Links",
    "MonthFigures",
    "OneOffCostFigures",
    "OperationsFigures",
    "OutcomeCounts",
    "OutcomeValueFigures",
    "PeriodLine",
    "PlanFigures",
    "Provenance",
    "QualityRow",
    "RangeFigures",
    "RealizedFigures",
    "RealizedHeadline",
    "RecommendationFigures",
    "RoiFigures",
    "ScenarioFigures",
    "ScenariosFigures",
    "SensitivityFigures",
    "SensitivityRow",
    "SignOff",
    "SpendFigures",
    "SpendLine",
    "SpendWindowFigures",
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
