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

import numpy as np

from reports import figures as f
from reports.outcomes import Outcomes, read_outcomes
from reports.plan import LoadedPlan, load_plan
from reports.plan_vs_actual import Month, Plan, Realized, realize
from reports.publish import write_files
from tracker.errors import TrackerError, UsageError
from tracker.money import cents
from tracker.record import layout
from tracker.urls import redact_all

if TYPE_CHECKING:
    from tracker.config import Settings
    from tracker.record import Record

__all__ = ["RealizedReport", "build_realized", "publish_realized"]

DECILES = [q / 10 for q in range(1, 10)]


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
    refresh: bool = False,
    check_tags: bool = True,
    now: datetime | None = None,
) -> RealizedReport:
    """Every month of production against the plan, the project to date, the drift, and a recommendation."""
    from reports.charts import cumulative_chart, psi_chart

    if start is not None and end is not None and start > end:
        raise UsageError(f"`outcomes.start` {start} is after `outcomes.end` {end}; swap them")
    planned = load_plan(record, settings, run_id, refresh=refresh, check_tags=check_tags)
    plan = planned.plan
    edges = _edges(record, planned.best.run_id, plan.task)
    plan = replace(plan, test_bins=edges[1])
    outcomes = read_outcomes(
        outcomes_path,
        task=plan.task,
        threshold=plan.threshold,
        bin_edges=edges[0],
        train_mean=planned.best.train_mean,
        start=start,
        end=end,
    )
    if not outcomes.months:
        raise UsageError(
            f"`outcomes`: no prediction in {outcomes_path} falls between {start or 'the start'} and "
            f"{end or 'the end'} ({outcomes.outside_window} outside); widen `outcomes.start`/`outcomes.end`"
        )
    running = _running_costs(settings, plan, outcomes, refresh=refresh)
    realized = realize(plan, outcomes.months, running, positive_name=settings.roi.positive_name)
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    stated = _present(settings, planned, realized, outcomes, start, end, record.tracking_uri, generated)
    charts = _charts(realized, plan.currency, cumulative_chart, psi_chart)
    return RealizedReport(stated, charts, planned.parent_run_id)


# -- gathering ---------------------------------------------------------------------------------------


def _edges(record: Record, best_run_id: str, task: str) -> tuple[list[float], tuple[int, ...]]:
    """Decile edges of the test set's scores (or predictions), and the test set's count in each bin."""
    test = record.artifacts.load_predictions(best_run_id, "test")
    column = "y_score" if task == "classification" else "y_pred"
    if test is None or column not in test.columns:
        raise TrackerError(f"run {best_run_id} has no predictions/test.parquet with {column}; the PSI needs them")
    scores = test[column].to_numpy(dtype=float)
    edges = sorted({float(e) for e in np.quantile(scores, DECILES)})
    bins = np.searchsorted(np.asarray(edges), scores, side="right")
    return edges, tuple(int(c) for c in np.bincount(bins, minlength=len(edges) + 1))


def _running_costs(settings: Settings, plan: Plan, outcomes: Outcomes, *, refresh: bool) -> list[tuple[Decimal, str]]:
    """Each month's running cost: billed for ``roi.running_cost_from``'s tags, or the plan's figure."""
    source = settings.roi.running_cost_from
    if source is None:
        return [(plan.running_cost_per_month, "configured")] * len(outcomes.months)
    if settings.cost.source == "estimate":
        raise UsageError("roi.running_cost_from needs billed spend; choose `cost.source` explorer or billing-file")
    import calendar

    from cost.service import spend_filter, spend_for

    first, last = outcomes.months[0].month, outcomes.months[-1].month
    year, month = (int(part) for part in last.split("-"))
    window = (date.fromisoformat(f"{first}-01"), date(year, month, calendar.monthrange(year, month)[1]))
    tagged = spend_filter(settings, tags=source.tags, window=window, granularity="monthly")
    by_month = spend_for(settings, tagged, refresh=refresh, check_tags=False).by_month()
    # A month the bill does not cover yet is said so, not silently free.
    return [
        (by_month[m.month], "billed") if m.month in by_month else (Decimal(0), "billed: none found")
        for m in outcomes.months
    ]


# -- presenting ----------------------------------------------------------------------------------------


def _interval(value: tuple[float, float, float] | None) -> f.Interval | None:
    if value is None:
        return None
    share, low, high = (f.score(v) or Decimal(0) for v in value)
    return f.Interval(share, low, high)


def _month_figures(month_result: Month) -> f.MonthFigures:
    return f.MonthFigures(
        month=month_result.month,
        index=month_result.index,
        predictions=month_result.predictions,
        labelled=month_result.labelled,
        share_labelled=f.score(month_result.share_labelled),
        tp=month_result.counts.tp,
        fp=month_result.counts.fp,
        fn=month_result.counts.fn,
        tn=month_result.counts.tn,
        realized_value_labelled=f.money(
            None
            if month_result.realized_value is None
            else month_result.realized_value - (month_result.baseline_value or Decimal(0))
        ),
        realized_value=f.money(month_result.realized_uplift),
        realized_value_estimated=month_result.labelled < month_result.predictions,
        planned_value=cents(month_result.planned_uplift),
        running_cost=cents(month_result.running_cost),
        running_cost_basis=month_result.running_cost_basis,
        realized_net=f.money(month_result.realized_net),
        planned_net=cents(month_result.planned_net),
        psi=f.score(month_result.psi) or Decimal(0),
        positive_rate=f.score(month_result.positive_rate),
        precision=_interval(month_result.precision),
        recall=_interval(month_result.recall),
        gap=None
        if month_result.gap is None
        else f.GapFigures(
            cents(month_result.gap.volume),
            cents(month_result.gap.base_rate),
            cents(month_result.gap.quality),
            cents(month_result.gap.total),
        ),
    )


def _present(
    settings: Settings,
    planned: LoadedPlan,
    realized: Realized,
    outcomes: Outcomes,
    start: date | None,
    end: date | None,
    tracking_uri: str,
    generated: datetime,
) -> f.RealizedFigures:
    from tracker import __version__

    plan, to_date, latest = planned.plan, _to_date(realized), realized.months[-1]
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
        plan=_plan_figures(planned),
        months=tuple(_month_figures(m) for m in realized.months),
        to_date=to_date,
        drift=_drift(plan, realized),
        recommendation=f.RecommendationFigures(realized.recommendation, realized.reasons),
        input=f.InputFigures(outcomes.location, outcomes.files, f.DateWindow(start, end), outcomes.outside_window),
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


_TO_DATE = tuple(field.name for field in dataclasses.fields(f.ToDateFigures))


def _to_date(realized: Realized) -> f.ToDateFigures:
    t = realized.to_date
    return f.ToDateFigures(
        realized_net=cents(t.realized_net),
        planned_net=cents(t.planned_net),
        development_cost=f.money(t.development_cost),
        net_after_development=cents(t.net_after_development),
        roi_percent=f.percent_whole(t.roi),
        npv=cents(t.npv),
        payback_month=t.payback_month,
        status=t.status,
    )


def _plan_figures(planned: LoadedPlan) -> f.PlanFigures:
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
    )


def _drift(plan: Plan, realized: Realized) -> f.DriftFigures:
    classifier = plan.values is not None
    alerts = plan.test.tp + plan.test.fp
    return f.DriftFigures(
        psi=f.score(realized.latest_psi) or Decimal(0),
        status=realized.drift_status,
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
    realized: list[Decimal | None] = []
    plan_total, real_total = Decimal(0), Decimal(0)
    known = True
    for m in result.months:
        plan_total += m.planned_net
        planned.append(plan_total)
        known = known and m.realized_net is not None
        real_total += m.realized_net or Decimal(0)
        realized.append(real_total if known else None)
    return {
        "cumulative": cumulative_chart(months, planned, realized, ylabel=f"cumulative net ({currency})"),
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
    """Write the three files as a set; log the months as metric steps on the sweep's run; tag the model."""
    written = write_files(report, pdf=pdf, html=html, json_path=json_path, paper=paper, on_refused=on_refused)
    if report.parent_run_id is not None:
        record.artifacts.log_monthly(report.parent_run_id, _series(report.figures.months), written)
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
