"""The ROI report: gather the evidence, analyse it, state every figure, draw the charts.

``reports.gather`` reads; ``reports.analysis`` computes (pure); :func:`roi_figures` states
the result as :class:`~reports.figures.RoiFigures` (pure, no charts); :func:`build_report`
adds the charts that ``reports.render`` draws into the PDF and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from reports import figures as f
from reports import roi
from reports.analysis import Analysis, analyse
from reports.gather import Evidence, gather
from reports.sensitivity import unit_of
from reports.signoff import sign_off
from reports.spend_figures import spend_figures
from reports.tuning_figures import tuning_charts, tuning_figures
from tracker.money import RATIO, cents
from tracker.record.layout import REPORT_FILE
from tracker.urls import redact_all

if TYPE_CHECKING:
    from cost.table import SpendTable
    from tracker.config import Settings
    from tracker.record import Record

__all__ = ["RoiReport", "build_report", "roi_figures"]

_ONE_DECIMAL = Decimal("0.1")


@dataclass(frozen=True)
class RoiReport:
    """The ROI report: its figures, its charts as SVG, and the sweep run it is logged on."""

    figures: f.RoiFigures
    charts: dict[str, str]
    parent_run_id: str | None

    template: ClassVar[str] = "report.html.j2"
    attachment: ClassVar[str] = REPORT_FILE

    @property
    def best_run_id(self) -> str:
        """The run of the model the report values."""
        return self.figures.provenance.best_run_id


def build_report(
    settings: Settings,
    *,
    run_id: str | None = None,
    record: Record | None = None,
    spend: SpendTable | None = None,
    refresh: bool = False,
    check_tags: bool = True,
    now: datetime | None = None,
    config_file: Path | None = None,
) -> RoiReport:
    """The ROI report of the latest sweep (or of ``run_id``): gather, analyse, state the figures, draw the charts.

    ``record`` is the MLflow record to read (opened from ``settings.tracking_uri`` when not
    given); ``spend`` replaces reading the configured cost source; ``config_file`` is the
    file the settings came from, hashed on the sign-off page.
    """
    from reports.charts import tornado_chart
    from tracker.record import Record

    record = record or Record.open(settings.tracking_uri)
    evidence = gather(record, settings, run_id, spend, refresh=refresh, check_tags=check_tags)
    analysis = analyse(evidence, settings)
    stated = roi_figures(evidence, analysis, settings, now=now, config_file=config_file)
    charts = tuning_charts(evidence)
    charts["tornado"] = tornado_chart(
        [(s.assumption, s.npv_low, s.npv_high) for s in analysis.sensitivity],
        analysis.result.npv,
        xlabel=f"NPV ({analysis.assumptions.currency})",
    )
    return RoiReport(stated, charts, evidence.parent.run_id if evidence.parent is not None else None)


def roi_figures(
    evidence: Evidence,
    analysis: Analysis,
    settings: Settings,
    *,
    now: datetime | None = None,
    config_file: Path | None = None,
) -> f.RoiFigures:
    """Every figure of the report, as published (no store, no chart; the sign-off hashes the config and data)."""
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    decision = analysis.decision
    return f.RoiFigures(
        schema=f.REPORT_SCHEMA,
        headline=_headline(analysis),
        quality_in_words=tuple(analysis.words),
        value_model=_value_model(analysis, settings, evidence),
        decision=_decision(analysis) if decision is not None else None,
        confusion_matrix=_confusion(analysis) if decision is not None else None,
        quality=analysis.quality,
        uncertainty=_uncertainty(analysis),
        sensitivity=_sensitivity(analysis),
        tuning=tuning_figures(evidence),
        spend=spend_figures(evidence, analysis),
        provenance=_provenance(settings, evidence, generated, sign_off(settings, evidence, config_file)),
        baseline=_baseline(analysis, settings),
        scenarios=f.ScenariosFigures(
            *(f.ScenarioFigures(cents(analysis.scenarios[name])) for name in ("low", "base", "high"))
        ),
        operations=_operations(analysis),
        assumptions=tuple(
            f.AssumptionFigures(
                r.name,
                _registered(r.value, r.unit),
                _opt(r.low, r.unit),
                _opt(r.high, r.unit),
                r.source,
                r.owner,
                r.measured,
                r.unit,
            )
            for r in analysis.register
        ),
    )


def _registered(value: Decimal, unit: str) -> Decimal:
    """An assumption as the register states it: money to the cent, rates to four places, counts whole."""
    if unit == "money":
        return cents(value)
    if unit == "rate":
        return value.quantize(RATIO)
    return value.quantize(_ONE_DECIMAL) if value != value.to_integral_value() else value.quantize(Decimal(1))


def _opt(value: Decimal | None, unit: str) -> Decimal | None:
    return None if value is None else _registered(value, unit)


def _baseline(analysis: Analysis, settings: Settings) -> f.BaselineFigures:
    chosen, other = analysis.baseline, analysis.alternative
    result, alt = analysis.result, analysis.alternative_result
    given = settings.roi.baseline
    return f.BaselineFigures(
        kind=chosen.kind,
        words=chosen.words,
        value_per_prediction=cents(result.value_per_prediction_baseline),
        chosen_by=(
            "the better of acting on nobody and acting on everyone at the production rate"
            if given is None
            else "configured"
        ),
        share=chosen.share if chosen.kind == "act_on_share" else None,
        alternative=None
        if analysis.decision is None
        else f.AlternativeFigures(other.kind, other.words, cents(alt.value_per_prediction_baseline), cents(alt.npv)),
    )


def _operations(analysis: Analysis) -> f.OperationsFigures | None:
    ops = analysis.operations
    if ops is None:
        return None
    whole = Decimal(1)
    return f.OperationsFigures(
        actions_per_month=ops.actions_per_month.quantize(whole),
        catches_per_month=ops.catches_per_month.quantize(whole),
        false_alarms_per_month=ops.false_alarms_per_month.quantize(whole),
        capacity_per_month=ops.capacity_per_month,
        capacity_binds=ops.capacity_binds,
    )


def _headline(analysis: Analysis) -> f.HeadlineFigures:
    result, spread = analysis.result, analysis.uncertainty
    return f.HeadlineFigures(
        currency=analysis.assumptions.currency,
        recommendation=analysis.recommendation,
        reason=analysis.reason,
        npv=cents(result.npv),
        npv_p10=cents(spread.npv_p10),
        npv_p90=cents(spread.npv_p90),
        net_benefit=cents(result.net_benefit),
        npv_forward=cents(result.npv),
        npv_all_costs=cents(result.npv_all_costs),
        npv_p50=cents(spread.npv_p50),
        npv_mean=cents(spread.npv_mean),
        payback_months_discounted=None
        if result.payback_months_discounted is None
        else result.payback_months_discounted.quantize(_ONE_DECIMAL),
        cost_to_come=cents(result.cost_to_come),
        cost_spent=cents(result.cost_spent),
        roi_percent=f.percent_whole(result.roi),
        roi_p10_percent=f.percent_whole(spread.roi_p10),
        roi_p90_percent=f.percent_whole(spread.roi_p90),
        roi_note=result.roi_reason,
        probability_npv_positive=spread.probability_npv_positive.quantize(RATIO),
        monthly_benefit=cents(result.monthly_benefit),
        development_cost=f.money(result.development_cost),
        development_cost_basis=analysis.spend_basis,
        payback_months=None if result.payback_months is None else result.payback_months.quantize(_ONE_DECIMAL),
        payback_note=result.payback_reason,
        horizon_months=analysis.assumptions.horizon_months,
        warnings=analysis.warnings,
        notes=analysis.notes,
    )


def _value_model(analysis: Analysis, settings: Settings, evidence: Evidence) -> f.ValueModelFigures:
    a, result = analysis.assumptions, analysis.result
    running = evidence.running
    outcomes = _outcome_values(analysis, evidence.task)
    return f.ValueModelFigures(
        task=evidence.task,
        currency=a.currency,
        baseline=analysis.baseline.words,
        horizon_months=a.horizon_months,
        predictions_per_month=a.predictions_per_month,
        production_positive_rate=a.production_positive_rate,
        test_positive_rate=outcomes.test_positive_rate,
        value_per_outcome=outcomes.value_per_outcome,
        value_per_unit_error=outcomes.value_per_unit_error,
        value_of_a_catch=outcomes.value_of_a_catch,
        action=outcomes.action,
        cloud_cost=f.money(a.cloud_cost),
        one_off_costs=tuple(f.OneOffCostFigures(c.name, cents(c.amount), c.spent) for c in a.one_off_costs),
        development_cost=f.money(result.development_cost),
        running_cost_per_month=cents(a.running_cost_per_month),
        running_cost_source=(
            f"measured: billed spend tagged {_tags(running.tags)}, average of {', '.join(running.months)}"
            if running
            else "configured"
        ),
        discount_rate_annual=a.discount_rate_annual,
        ramp_up_months=a.ramp_up_months,
        ranges={
            name: f.RangeFigures(analysis.range_labels.get(name, name), r.low, r.likely, r.high, unit_of(name))
            for name, r in a.ranges.items()
        },
        value_per_prediction_model=cents(result.value_per_prediction_model),
        value_per_prediction_baseline=cents(result.value_per_prediction_baseline),
        uplift_per_prediction=cents(result.uplift_per_prediction),
        monthly_benefit=cents(result.monthly_benefit),
        gross_benefit=cents(result.gross_benefit),
        running_cost=cents(result.running_cost),
        total_cost=cents(result.total_cost),
        net_benefit=cents(result.net_benefit),
        npv=cents(result.npv),
        roi=f.ratio(result.roi),
        roi_percent=f.percent_whole(result.roi),
        roi_note=result.roi_reason,
        payback_months=f.ratio(result.payback_months),
        payback_note=result.payback_reason,
        break_even_predictions_per_month=f.ratio(result.break_even_predictions_per_month),
        break_even_note=result.break_even_reason,
    )


@dataclass(frozen=True)
class _OutcomeValues:
    test_positive_rate: Decimal | None = None
    value_per_outcome: f.OutcomeValueFigures | None = None
    value_per_unit_error: Decimal | None = None
    value_of_a_catch: Decimal | None = None
    action: f.ActionFigures | None = None


def _outcome_values(analysis: Analysis, task: str) -> _OutcomeValues:
    """What each outcome is worth (classification), or each unit of error (regression)."""
    a = analysis.assumptions
    if task != "classification":
        return _OutcomeValues(value_per_unit_error=cents(a.value_per_unit_error))
    tp, fp, fn, tn = a.outcome_values()
    action = a.action
    return _OutcomeValues(
        test_positive_rate=f.ratio(analysis.decision.test_positive_rate) if analysis.decision else None,
        value_per_outcome=f.OutcomeValueFigures(cents(tp), cents(fp), cents(fn), cents(tn)),
        value_of_a_catch=cents(a.value_of_a_catch),
        action=None
        if action is None
        else f.ActionFigures(cents(action.value_if_caught), action.success_rate, cents(action.action_cost)),
    )


def _tags(tags: dict[str, str]) -> str:
    return " and ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _decision(analysis: Analysis) -> f.DecisionFigures:
    d = analysis.decision
    assert d is not None
    return f.DecisionFigures(
        threshold=d.threshold,
        rule="flag a case when its score is at or above the threshold",
        chosen_on="validation predictions, to maximise expected value under the production positive rate",
        value_per_prediction_at_threshold=cents(analysis.result.value_per_prediction_model),
        value_per_prediction_at_0_5=cents(d.at_half.value_per_prediction_model),
        npv_at_0_5=cents(d.at_half.npv),
    )


def _confusion(analysis: Analysis) -> f.ConfusionFigures:
    d = analysis.decision
    assert d is not None
    model, base = d.model, d.baseline or _by_kind(analysis)
    cells = [
        f.ConfusionCell(count, cents(value), cents(value * count))
        for count, value in zip(
            (model.tp, model.fp, model.fn, model.tn), analysis.assumptions.outcome_values(), strict=True
        )
    ]
    return f.ConfusionFigures(
        test_rows=model.n,
        cells=f.ConfusionCells(*cells),
        tpr=f.ratio(model.tpr) or Decimal(0),
        fpr=f.ratio(model.fpr) or Decimal(0),
        baseline=f.OutcomeCounts(base.tp, base.fp, base.fn, base.tn),
    )


def _uncertainty(analysis: Analysis) -> f.UncertaintyFigures:
    u = analysis.uncertainty
    return f.UncertaintyFigures(
        method=u.method,
        replicates=u.replicates,
        seed=u.seed,
        varied=tuple(u.varied),
        npv_p10=cents(u.npv_p10),
        npv_p50=cents(u.npv_p50),
        npv_p90=cents(u.npv_p90),
        roi_p10_percent=f.percent_whole(u.roi_p10),
        roi_p50_percent=f.percent_whole(u.roi_p50),
        roi_p90_percent=f.percent_whole(u.roi_p90),
        probability_npv_positive=u.probability_npv_positive.quantize(RATIO),
        npv_mean=cents(u.npv_mean),
    )


def _sensitivity(analysis: Analysis) -> f.SensitivityFigures:
    rows = tuple(
        f.SensitivityRow(
            assumption=s.assumption,
            low=s.low_value,
            high=s.high_value,
            range="its own range" if s.ranged else "±20%",
            npv_low=cents(s.npv_low),
            npv_high=cents(s.npv_high),
            unit=s.unit,
        )
        for s in analysis.sensitivity
    )
    return f.SensitivityFigures("npv", rows)


def _by_kind(analysis: Analysis) -> roi.Confusion:
    """A baseline by kind acts on a share s of the test rows: its expected counts, rounded."""
    d = analysis.decision
    assert d is not None
    kind = analysis.baseline
    s = {"no_action": Decimal(0), "act_on_all": Decimal(1)}.get(kind.kind, kind.share)
    pos, neg = d.model.tp + d.model.fn, d.model.fp + d.model.tn
    tp, fp = int((s * pos).to_integral_value()), int((s * neg).to_integral_value())
    return roi.Confusion(tp, fp, pos - tp, neg - fp)


# -- provenance ----------------------------------------------------------------------------------------


def _provenance(settings: Settings, evidence: Evidence, generated: datetime, signoff: f.SignOff) -> f.Provenance:
    from tracker import __version__

    parent, best_id = evidence.parent, evidence.best.run_id
    link = None
    if evidence.tracking_uri.startswith(("http://", "https://")):
        link = f"{evidence.tracking_uri.rstrip('/')}/#/experiments/{evidence.experiment_id}/runs/"
    # Redacted: a password in a storage or tracking URL never reaches a page, a file or MLflow.
    return f.Provenance(
        experiment=settings.experiment,
        experiment_id=evidence.experiment_id,
        sweep_run_id=parent.run_id if parent is not None else None,
        best_run_id=best_id,
        links=f.Links(
            sweep=redact_all(f"{link}{parent.run_id}") if link and parent is not None else None,
            best=redact_all(f"{link}{best_id}") if link else None,
        ),
        tracking_uri=redact_all(evidence.tracking_uri),
        tool="tracker",
        version=__version__,
        generated_at=generated.isoformat(),
        config=redact_all(settings.model_dump(mode="json")),
        signoff=signoff,
    )
