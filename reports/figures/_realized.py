"""The realized report's figures (``realized.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reports.figures._codec import Figures
from reports.figures._sources import Provenance

REALIZED_SCHEMA = "tracker.realized-report/1"


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
