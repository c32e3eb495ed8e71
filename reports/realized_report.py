"""The realized report: the plan from the logged ROI report, the production log, the running cost.

Gathers (the plan, the test set's scores, the monthly outcomes, the billed running cost),
computes with ``reports.plan_vs_actual`` (pure), and states the result as
:class:`~reports.figures.RealizedFigures` with its charts; ``publish_realized`` writes the
three files and logs the months on the sweep's parent run.

The plan comes from ``reports.plan``: the logged ``roi.json`` read back as typed figures, or
the same figures computed from the config.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from reports import figures as f
from reports import realized_inputs as inputs
from reports.alerts import drift_limits
from reports.calibration import check_calibration
from reports.outcomes import LogOptions, Outcomes, calendar, read_outcomes
from reports.plan import LoadedPlan, load_plan
from reports.plan_vs_actual import Month, Plan, Realized, realize
from reports.publish import write_files
from tracker.errors import UsageError
from tracker.money import cents
from tracker.record import layout
from tracker.urls import redact_all

if TYPE_CHECKING:
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
    calibration, calibration_figures = None, None
    if plan.task == "classification" and test is not None and "y_score" in test.columns:
        validation = record.artifacts.load_predictions(planned.best.run_id, "val")
        calibration, calibration_figures = check_calibration(validation, test)
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
    if not outcomes.months:
        raise UsageError(
            f"`outcomes`: no prediction in {outcomes_path} falls between {start or 'the start'} and "
            f"{end or 'the end'} ({outcomes.outside_window} outside); widen --start/--end"
        )
    if not outcomes.months[0].scored:
        test_bins = inputs.decision_bins(test, plan)
    plan = replace(plan, test_bins=test_bins)
    deployed = inputs.deployed_month(settings, outcomes)
    months = calendar(outcomes)
    running = inputs.running_costs(settings, plan, months, refresh=refresh)
    realized = realize(plan, months, running, deployed=deployed, positive_name=settings.roi.positive_name)
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    context = _Context(outcomes, start, end, options, deployed, calibration_figures, log)
    stated = _present(settings, planned, realized, context, record.tracking_uri, generated)
    charts = _charts(realized, plan.currency, cumulative_chart, psi_chart)
    return RealizedReport(stated, charts, planned.parent_run_id)


@dataclass(frozen=True)
class _Context:
    """What the report read and how: the log, the window, the options, the deployment month, the scores."""

    outcomes: Outcomes
    start: date | None
    end: date | None
    options: LogOptions
    deployed: str
    calibration: f.CalibrationFigures | None
    log: bool


# -- gathering ---------------------------------------------------------------------------------------


# -- presenting ----------------------------------------------------------------------------------------


def _interval(value: tuple[float, float, float] | None) -> f.Interval | None:
    if value is None:
        return None
    share, low, high = (f.score(v) or Decimal(0) for v in value)
    return f.Interval(share, low, high)


def _month_figures(m: Month, classifier: bool) -> f.MonthFigures:
    e = m.expected
    return f.MonthFigures(
        month=m.month,
        index=m.index,
        predictions=m.predictions,
        labelled=m.labelled,
        share_labelled=f.score(m.share_labelled),
        tp=m.counts.tp,
        fp=m.counts.fp,
        fn=m.counts.fn,
        tn=m.counts.tn,
        expected=f.ExpectedFigures(*(cents(c) for c in (e.tp, e.fp, e.fn, e.tn))) if classifier else None,
        realized_value=cents(m.realized_uplift),
        estimated_value=cents(m.estimated_uplift),
        value=cents(m.uplift),
        value_estimated=m.labelled < m.predictions,
        planned_value=cents(m.planned_uplift),
        running_cost=cents(m.running_cost),
        running_cost_basis=m.running_cost_basis,
        net=cents(m.net),
        planned_net=cents(m.planned_net),
        psi=f.score(m.psi) or Decimal(0),
        drift=m.drift,
        positive_rate=f.score(m.positive_rate),
        precision=_interval(m.precision),
        recall=_interval(m.recall),
        gap=f.GapFigures(cents(m.gap.volume), cents(m.gap.base_rate), cents(m.gap.quality), cents(m.gap.total)),
    )


def _present(
    settings: Settings,
    planned: LoadedPlan,
    realized: Realized,
    context: _Context,
    tracking_uri: str,
    generated: datetime,
) -> f.RealizedFigures:
    from tracker import __version__

    plan, to_date, latest = planned.plan, _to_date(realized), realized.months[-1]
    outcomes = context.outcomes
    return f.RealizedFigures(
        schema=f.REALIZED_SCHEMA,
        headline=f.RealizedHeadline(
            currency=plan.currency,
            recommendation=realized.recommendation,
            reasons=realized.reasons,
            **{field: getattr(to_date, field) for field in _TO_DATE},
            drift_status=realized.drift_status,
            latest_psi=f.score(realized.latest_psi) or Decimal(0),
            latest_month=latest.month,
            latest_share_labelled=f.score(latest.share_labelled),
        ),
        plan=_plan_figures(planned, context),
        months=tuple(_month_figures(m, plan.values is not None) for m in realized.months),
        to_date=to_date,
        drift=_drift(plan, realized, outcomes),
        recommendation=f.RecommendationFigures(realized.recommendation, realized.reasons),
        input=f.InputFigures(
            outcomes=outcomes.location,
            files=outcomes.files,
            window=f.DateWindow(context.start, context.end),
            rows_outside_window=outcomes.outside_window,
            repeats_dropped=outcomes.duplicates_dropped,
            model_version=context.options.model_version or (outcomes.versions[0] if outcomes.versions else None),
            score_scale=context.options.score_scale,
            logged=context.log,
            full=outcomes.outside_window == 0,
        ),
        warnings=_warnings(realized, outcomes),
        provenance=f.Provenance(
            experiment=settings.experiment,
            experiment_id=planned.experiment_id,
            sweep_run_id=planned.parent_run_id,
            best_run_id=planned.best.run_id,
            links=None,
            tracking_uri=redact_all(tracking_uri),
            tool="tracker",
            version=__version__,
            generated_at=generated.isoformat(),
            config=redact_all(settings.model_dump(mode="json")),
        ),
    )


def _warnings(realized: Realized, outcomes: Outcomes) -> tuple[str, ...]:
    """What the reader must know before trusting the figures, one sentence each."""
    out = []
    unbilled = [m.month for m in realized.months if m.running_cost_basis == inputs.NO_BILL]
    if unbilled:
        out.append(
            f"No bill line for the serving tags in {', '.join(unbilled)}: the running cost of "
            f"{'that month' if len(unbilled) == 1 else 'those months'} is counted as 0 until the bill arrives."
        )
    empty = [m.month for m in realized.months if not m.predictions]
    if empty:
        out.append(f"No predictions in {', '.join(empty)}: counted as months of zero volume.")
    partly = [m for m in realized.months if m.predictions and m.labelled < m.predictions]
    if partly:
        shown = ", ".join(f"{m.month} {m.share_labelled:.0%} labelled" for m in partly)
        out.append(f"Partly known months ({shown}): their unlabelled predictions are estimated from the scores.")
    if outcomes.duplicates_dropped:
        out.append(f"{outcomes.duplicates_dropped:,} predictions repeated an id and were left out (--dedupe).")
    return tuple(out)


_TO_DATE = tuple(field.name for field in dataclasses.fields(f.ToDateFigures))


def _to_date(realized: Realized) -> f.ToDateFigures:
    t = realized.to_date
    return f.ToDateFigures(
        net=cents(t.net),
        estimated=cents(t.estimated),
        planned_net=cents(t.planned_net),
        development_cost=f.money(t.development_cost),
        net_after_development=cents(t.net_after_development),
        roi_percent=f.percent_whole(t.roi),
        npv=cents(t.npv),
        payback_month=t.payback_month,
        status=t.status,
    )


def _plan_figures(planned: LoadedPlan, context: _Context) -> f.PlanFigures:
    plan = planned.plan
    return f.PlanFigures(
        source=plan.source,
        threshold=plan.threshold,
        planned_positive_rate=f.score(plan.planned_rate) if plan.values is not None else None,
        uplift_per_prediction=cents(plan.planned_uplift()),
        predictions_per_month=plan.predictions_per_month,
        running_cost_per_month=cents(plan.running_cost_per_month),
        ramp_up_months=plan.ramp_up_months,
        development_cost=f.money(plan.development_cost),
        discount_rate_annual=plan.discount_rate_annual,
        monthly_benefit=planned.figures.value_model.monthly_benefit,
        deployed_month=context.deployed,
        calibration=context.calibration,
    )


def _drift(plan: Plan, realized: Realized, outcomes: Outcomes) -> f.DriftFigures:
    classifier = plan.values is not None
    alerts = plan.test.tp + plan.test.fp
    latest = realized.months[-1]
    limits = drift_limits(latest.predictions, sum(plan.test_bins), len(plan.test_bins))
    return f.DriftFigures(
        psi=f.score(realized.latest_psi) or Decimal(0),
        status=realized.drift_status,
        watch_limit=f.score(limits.watch) or Decimal(0),
        shifted_limit=f.score(limits.shifted) or Decimal(0),
        basis="score deciles" if outcomes.months[0].scored else "decision rate",
        positive_rate=f.score(realized.positive_rate),
        planned_positive_rate=f.score(plan.planned_rate) if classifier else None,
        test_recall=f.score(plan.test.tpr) if classifier else None,
        test_precision=f.score(Decimal(plan.test.tp) / Decimal(alerts)) if classifier and alerts else None,
    )


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
