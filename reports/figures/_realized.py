"""The realized report's figures (``realized.json``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from reports.figures._codec import Figures
from reports.figures._sources import Provenance

REALIZED_SCHEMA = "tracker.realized-report/2"


@dataclass(frozen=True)
class ToDateFigures(Figures):
    """The project to date: the net (realized on labelled rows, estimated on the rest) against planned."""

    net: Decimal
    estimated: Decimal  # the part of the net estimated from scores, before labels arrive
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
    net: Decimal
    estimated: Decimal
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
class CalibrationFigures(Figures):
    """How the scores the estimates rest on were checked: Brier scores on the test set."""

    method: str  # "none" (scores used as logged) or "platt" (fitted on the validation split)
    brier_as_logged: Decimal
    brier_calibrated: Decimal
    words: str


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
    deployed_month: str  # month 1 of the ramp-up: realized.deployed_on, or the log's first month
    calibration: CalibrationFigures | None  # classification with scores


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
class ExpectedFigures(Figures):
    """Outcome counts expected among a month's unlabelled rows, to two decimals."""

    tp: Decimal
    fp: Decimal
    fn: Decimal
    tn: Decimal


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
    expected: ExpectedFigures | None  # the unlabelled rows' expected outcomes (classification)
    realized_value: Decimal  # labelled rows, over the plan's baseline
    estimated_value: Decimal  # unlabelled rows, from the calibrated scores
    value: Decimal  # the two together
    value_estimated: bool  # whether any of it is estimated
    planned_value: Decimal
    running_cost: Decimal
    running_cost_basis: str
    net: Decimal
    planned_net: Decimal
    psi: Decimal
    drift: str  # stable, watch, shifted, not judged
    positive_rate: Decimal | None
    precision: Interval | None
    recall: Interval | None
    gap: GapFigures


@dataclass(frozen=True)
class FeatureDriftFigures(Figures):
    """One feature's shift in the latest month against the test split."""

    name: str
    measure: str  # PSI (numeric) or JS (categorical, Jensen-Shannon divergence)
    value: Decimal
    detail: str  # the category that moved most, e.g. "'unknown' 30% → 60%"


@dataclass(frozen=True)
class DriftFigures(Figures):
    """The latest month's drift: its PSI, the limits a month of its size reaches by chance, on what."""

    psi: Decimal
    status: str  # stable, watch, shifted, not judged
    watch_limit: Decimal
    shifted_limit: Decimal
    basis: str  # "score deciles", or "decision rate" for a log of decisions only
    features: tuple[FeatureDriftFigures, ...]  # the latest month's, largest shift first; () when not measured
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
    repeats_dropped: int  # rows that repeated an id, left out by --dedupe
    model_version: str | None
    score_scale: str
    logged: bool  # whether this run wrote to MLflow (not --no-log)
    full: bool  # whether it covers the whole log from the deployment month (only then are registry tags set)


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
    warnings: tuple[str, ...]
    provenance: Provenance
