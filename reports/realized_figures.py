"""The realized report's figures: the computed months, the plan and the log as read, stated as
:class:`~reports.figures.RealizedFigures` (money to the cent, rates to four places)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from reports import figures as f
from reports import realized_inputs as inputs
from reports.alerts import drift_limits
from reports.feature_drift import FeatureShift
from reports.outcomes import LogOptions, Outcomes
from reports.plan import LoadedPlan
from reports.plan_vs_actual import Month, Plan, Realized
from tracker.money import cents
from tracker.urls import redact_all

if TYPE_CHECKING:
    from tracker.config import Settings

__all__ = ["Context", "present"]


@dataclass(frozen=True)
class Context:
    """What the report read and how: the log, the window, the options, the deployment month, the scores."""

    outcomes: Outcomes
    start: date | None
    end: date | None
    options: LogOptions
    deployed: str
    calibration: f.CalibrationFigures | None
    log: bool
    shifts: tuple[FeatureShift, ...]


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


def present(
    settings: Settings,
    planned: LoadedPlan,
    realized: Realized,
    context: Context,
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
        drift=_drift(plan, realized, outcomes, context.shifts),
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
        out.append(
            f"Months whose outcomes are not all known yet ({shown}): "
            "their unlabelled predictions are estimated from the scores."
        )
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


def _plan_figures(planned: LoadedPlan, context: Context) -> f.PlanFigures:
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


def _drift(plan: Plan, realized: Realized, outcomes: Outcomes, shifts: tuple[FeatureShift, ...]) -> f.DriftFigures:
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
        features=tuple(
            f.FeatureDriftFigures(s.name, s.measure, f.score(s.value) or Decimal(0), s.detail) for s in shifts
        ),
        positive_rate=f.score(realized.positive_rate),
        planned_positive_rate=f.score(plan.planned_rate) if classifier else None,
        test_recall=f.score(plan.test.tpr) if classifier else None,
        test_precision=f.score(Decimal(plan.test.tp) / Decimal(alerts)) if classifier and alerts else None,
    )
