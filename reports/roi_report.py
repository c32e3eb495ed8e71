"""The ROI report: gather the evidence, analyse it, state every figure, draw the charts.

``reports.gather`` reads; ``reports.analysis`` computes (pure); :func:`roi_figures` states
the result as :class:`~reports.figures.RoiFigures` (pure, no charts); :func:`build_report`
adds the charts that ``reports.render`` draws into the PDF and HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from reports import figures as f
from reports.analysis import Analysis, analyse
from reports.gather import Evidence, gather
from reports.spend_figures import spend_figures
from tracker.money import RATIO, cents
from tracker.record.layout import REPORT_FILE, test_twin
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
) -> RoiReport:
    """The ROI report of the latest sweep (or of ``run_id``): gather, analyse, state the figures, draw the charts.

    ``record`` is the MLflow record to read (opened from ``settings.tracking_uri`` when not
    given); ``spend`` replaces reading the configured cost source.
    """
    from reports.charts import tornado_chart
    from tracker.record import Record

    record = record or Record.open(settings.tracking_uri)
    evidence = gather(record, settings, run_id, spend, refresh=refresh, check_tags=check_tags)
    analysis = analyse(evidence, settings)
    stated = roi_figures(evidence, analysis, settings, now=now)
    charts = _tuning_charts(evidence)
    charts["tornado"] = tornado_chart(
        [(s.assumption, s.npv_low, s.npv_high) for s in analysis.sensitivity],
        analysis.result.npv,
        xlabel=f"NPV ({analysis.assumptions.currency})",
    )
    return RoiReport(stated, charts, evidence.parent.run_id if evidence.parent is not None else None)


def roi_figures(
    evidence: Evidence, analysis: Analysis, settings: Settings, *, now: datetime | None = None
) -> f.RoiFigures:
    """Every figure of the report, as published (pure: no store, no file, no chart)."""
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
        tuning=_tuning(evidence),
        spend=spend_figures(evidence, analysis.result.development_cost, analysis.assumptions, analysis.spend_basis),
        provenance=_provenance(settings, evidence, generated),
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
        baseline=_baseline_name(settings),
        horizon_months=a.horizon_months,
        predictions_per_month=a.predictions_per_month,
        production_positive_rate=a.production_positive_rate,
        test_positive_rate=outcomes.test_positive_rate,
        value_per_outcome=outcomes.value_per_outcome,
        value_per_unit_error=outcomes.value_per_unit_error,
        value_of_a_catch=outcomes.value_of_a_catch,
        action=outcomes.action,
        cloud_cost=f.money(a.cloud_cost),
        one_off_costs=tuple(f.OneOffCostFigures(c.name, cents(c.amount)) for c in a.one_off_costs),
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
            name: f.RangeFigures(analysis.range_labels.get(name, name), r.low, r.likely, r.high)
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
    model, base = d.model, d.baseline
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
        )
        for s in analysis.sensitivity
    )
    return f.SensitivityFigures("npv", rows)


def _baseline_name(settings: Settings) -> str:
    baseline = settings.roi.baseline
    if baseline == "no_model":
        return "no model"
    kind, value = next(iter(baseline.items()))
    return f"{kind} {value}"


def _short(value: str) -> str:
    """A logged parameter for a table: long floats to four significant digits."""
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() or len(value) <= 8 else f"{number:.4g}"


# -- tuning, provenance -----------------------------------------------------------------------------


def _tuning(evidence: Evidence) -> f.TuningFigures:
    metric_key, maximize = evidence.metric_key, evidence.direction == "maximize"
    counts: dict[str, int] = {}
    for t in evidence.trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    done = [
        t for t in sorted(evidence.trials, key=lambda t: t.number) if t.state == "COMPLETE" and metric_key in t.metrics
    ]
    done.sort(key=lambda t: t.metrics[metric_key], reverse=maximize)
    top = tuple(
        f.TopTrial(
            trial=t.number,
            value=f.score(t.metrics[metric_key]),
            test=f.score(t.metrics.get(test_twin(metric_key))),
            params={k: _short(v) for k, v in sorted(t.params.items())},
            run_id=t.run_id,
        )
        for t in done[:5]
    )
    return f.TuningFigures(
        metric=metric_key,
        direction=evidence.direction,
        trials_by_state=dict(sorted(counts.items())),
        trials=len(evidence.trials),
        estimated_cost_usd=cents(sum((Decimal(str(t.cost_estimated)) for t in evidence.trials), Decimal(0))),
        top_trials=top,
        parameter_importances=evidence.importances,
        stop_reason=evidence.parent.stop_reason if evidence.parent is not None else None,
    )


def _tuning_charts(evidence: Evidence) -> dict[str, str]:
    """The objective by trial and by cumulative estimated cost."""
    from reports.charts import progress_chart as draw

    ordered = sorted(evidence.trials, key=lambda t: t.number)
    values = [t.metrics.get(evidence.metric_key) if t.state == "COMPLETE" else None for t in ordered]
    cumulative: list[float] = []
    running = Decimal(0)
    for t in ordered:
        running += Decimal(str(t.cost_estimated))
        cumulative.append(float(running))
    maximize = evidence.direction == "maximize"
    return {
        "by_trial": draw(
            [t.number for t in ordered], values, maximize=maximize, xlabel="trial number", ylabel=evidence.metric_key
        ),
        "by_cost": draw(
            cumulative, values, maximize=maximize, xlabel="cumulative estimated cost (USD)", ylabel=evidence.metric_key
        ),
    }


def _provenance(settings: Settings, evidence: Evidence, generated: datetime) -> f.Provenance:
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
    )
