"""The realized report: the plan from the logged ROI report, the production log, the running cost.

Gathers (the plan, the test set's scores, the monthly outcomes, the billed running cost),
computes with ``reports.plan_vs_actual`` (pure), and states the result as
:class:`~reports.figures.RealizedFigures` with its charts; ``publish_realized`` writes the
three files and logs the months on the sweep's parent run.

The plan comes from ``reports.plan``: the logged ``roi.json`` read back as typed figures, or
the same figures computed from the config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from reports import figures as f
from reports import realized_inputs as inputs
from reports.alerts import MIN_DRIFT_ROWS
from reports.calibration import Platt, check_calibration
from reports.feature_drift import FeatureShift, feature_shifts
from reports.outcomes import LogOptions, MonthOutcomes, calendar, read_outcomes
from reports.plan import LoadedPlan, load_plan
from reports.plan_vs_actual import Plan, Realized, realize
from reports.publish import write_files
from reports.realized_figures import Context, present
from tracker.errors import UsageError
from tracker.record import layout

if TYPE_CHECKING:
    import pandas as pd

    from tracker.config import Settings
    from tracker.record import Record

__all__ = ["RealizedReport", "build_realized", "publish_realized"]


@dataclass(frozen=True)
class RealizedReport:
    """The realized report: its figures, its charts as SVG, and the sweep run it is logged on."""

    figures: f.RealizedFigures
    charts: dict[str, str]
    parent_run_id: str | None

    template: ClassVar[str] = "realized.html.j2"
    attachment: ClassVar[str] = layout.REALIZED_FILE


def build_realized(
    settings: Settings,
    outcomes_path: Path,
    *,
    record: Record,
    run_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    options: LogOptions | None = None,
    refresh: bool = False,
    check_tags: bool = True,
    log: bool = True,
    now: datetime | None = None,
) -> RealizedReport:
    """Every month of production against the plan, the project to date, the drift, and a recommendation."""
    from reports.charts import cumulative_chart, psi_chart

    options = options or LogOptions()
    if start is not None and end is not None and start > end:
        raise UsageError(f"`outcomes.start` {start} is after `outcomes.end` {end}; swap them")
    planned = load_plan(record, settings, run_id, refresh=refresh, check_tags=check_tags)
    plan = planned.plan
    test = record.artifacts.load_predictions(planned.best.run_id, "test")
    calibration, calibration_figures = _calibration(record, planned, test)
    edges, test_bins = inputs.edges(test, planned.best.run_id, plan)
    outcomes = read_outcomes(
        outcomes_path,
        task=plan.task,
        threshold=plan.threshold,
        bin_edges=edges,
        train_mean=planned.best.train_mean,
        start=start,
        end=end,
        options=options,
        calibration=calibration,
    )
    if not outcomes.months[0].scored:
        test_bins = inputs.decision_bins(test, plan)
    plan = replace(plan, test_bins=test_bins)
    deployed = inputs.deployed_month(settings, outcomes)
    months = calendar(outcomes)
    running = inputs.running_costs(settings, plan, months, refresh=refresh)
    shifts = _feature_shifts(settings, plan, test, outcomes_path, options, months[-1])
    realized = realize(
        plan,
        months,
        running,
        deployed=deployed,
        positive_name=settings.roi.positive_name,
        moved=tuple(shift.words() for shift in shifts[:3]),
    )
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    context = Context(outcomes, start, end, options, deployed, calibration_figures, log, shifts)
    stated = present(settings, planned, realized, context, record.tracking_uri, generated)
    charts = _charts(realized, plan.currency, cumulative_chart, psi_chart)
    return RealizedReport(stated, charts, planned.parent_run_id)


# -- gathering ---------------------------------------------------------------------------------------


def _calibration(
    record: Record, planned: LoadedPlan, test: pd.DataFrame | None
) -> tuple[Platt | None, f.CalibrationFigures | None]:
    """A classifier's scores checked on the test set, and Platt scaling when they need it."""
    if planned.plan.task != "classification" or test is None or "y_score" not in test.columns:
        return None, None
    return check_calibration(record.artifacts.load_predictions(planned.best.run_id, "val"), test)


def _feature_shifts(
    settings: Settings,
    plan: Plan,
    test: pd.DataFrame | None,
    path: Path,
    options: LogOptions,
    latest: MonthOutcomes,
) -> tuple[FeatureShift, ...]:
    """How each feature the log carries moved in the latest month, when that month is large enough
    for a drift verdict and the test split's features can be read again."""
    if latest.predictions < MIN_DRIFT_ROWS:
        return ()
    features = inputs.test_features(settings, plan.task, test)
    return () if features is None else feature_shifts(path, options, latest.month, features)


def _charts(
    result: Realized, currency: str, cumulative_chart: Callable[..., str], psi_chart: Callable[..., str]
) -> dict[str, str]:
    months = [m.month for m in result.months]
    planned: list[Decimal] = []
    realized: list[Decimal] = []
    estimated: list[bool] = []
    plan_total, real_total = Decimal(0), Decimal(0)
    for m in result.months:
        plan_total += m.planned_net
        planned.append(plan_total)
        real_total += m.net
        realized.append(real_total)
        estimated.append(m.estimated_uplift != 0 or m.labelled < m.predictions)
    return {
        "cumulative": cumulative_chart(
            months, planned, realized, estimated=estimated, ylabel=f"cumulative net ({currency})"
        ),
        "psi": psi_chart(months, [m.psi for m in result.months]),
    }


# -- publishing ------------------------------------------------------------------------------------------


def publish_realized(
    report: RealizedReport,
    *,
    pdf: Path,
    html: Path,
    json_path: Path,
    record: Record,
    paper: str = "a4",
    on_refused: Callable[[str], None] | None = None,
) -> tuple[str, ...]:
    """Write the three files as a set; log the months as metric steps on the sweep's run; tag the model.

    A report built with ``log=False`` (``--no-log``) touches nothing in MLflow. The model's
    registry tags are its standing to date, so only a report that covers the whole log from
    the deployment month sets them; one over a chosen window logs its months and files only.
    """
    written = write_files(report, pdf=pdf, html=html, json_path=json_path, paper=paper, on_refused=on_refused)
    read = report.figures.input
    if not read.logged:
        return tuple(written)
    if report.parent_run_id is not None:
        record.artifacts.log_monthly(report.parent_run_id, _series(report.figures.months), written)
    if not read.full:
        return tuple(written)
    h = report.figures.headline
    tags = {
        layout.VERSION_TAG_REALIZED_ROI: str(h.roi_percent) if h.roi_percent is not None else "undefined",
        layout.VERSION_TAG_DRIFT: h.drift_status,
    }
    record.artifacts.value_the_model(report.figures.provenance.best_run_id, [], tags)
    return tuple(written)


def _series(months: tuple[f.MonthFigures, ...]) -> dict[str, list[tuple[int, float]]]:
    """The monthly figures as metric steps, by figure name; step = the month's index in production."""
    out: dict[str, list[tuple[int, float]]] = {figure: [] for figure in layout.MONTHLY_FIGURES}
    for m in months:
        for figure in layout.MONTHLY_FIGURES:
            value = getattr(m, figure)
            if value is not None:
                out[figure].append((m.index, float(value)))
    return out
