"""Building a report: gather the evidence, analyse it, present every figure as JSON and charts.

``reports.gather`` reads; ``reports.analysis`` computes (pure); this module presents:
one JSON-ready mapping (schema ``tracker.roi-report/2``) holding every figure the report
shows, money as decimal strings, and the charts as SVG. ``reports.render`` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from reports import roi
from reports.analysis import Analysis, Headline, analyse, basis, estimated_alongside, fmt
from reports.charts import progress_chart, tornado_chart
from reports.gather import Evidence, gather
from tracker.money import cents_text, exact_text
from tracker.runs import RunStore
from tracker.urls import redact_all

if TYPE_CHECKING:
    from cost.table import SpendTable
    from tracker.config import Settings

__all__ = ["REPORT_SCHEMA", "Report", "build_report", "whole_percent"]

REPORT_SCHEMA = "tracker.roi-report/2"
RATIO = Decimal("0.0001")


def ratio(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(RATIO, ROUND_HALF_UP))


def whole_percent(value: Decimal | None) -> str | None:
    """A ratio as a whole percent ("3573"): ROI is never shown to two decimals of a tiny denominator."""
    return None if value is None else str((value * 100).quantize(Decimal(1), ROUND_HALF_UP))


@dataclass(frozen=True)
class Report:
    """Every figure of the report (``data``, JSON-ready), its charts as SVG, and the typed headline."""

    data: dict[str, Any]
    charts: dict[str, str]
    parent_run_id: str | None
    headline: Headline | None = None


def build_report(
    settings: Settings,
    *,
    run_id: str | None = None,
    store: RunStore | None = None,
    spend: SpendTable | None = None,
    refresh: bool = False,
    check_tags: bool = True,
    now: datetime | None = None,
) -> Report:
    """Gather the runs, predictions and spend; analyse them; every figure in one mapping."""
    store = store or RunStore.open(settings.tracking_uri)
    evidence = gather(store, settings, run_id, spend, refresh=refresh, check_tags=check_tags)
    analysis = analyse(evidence, settings)
    trials_section, charts = _tuning(evidence)
    charts["tornado"] = tornado_chart(
        [(s.assumption, s.npv_low, s.npv_high) for s in analysis.sensitivity],
        analysis.result.npv,
        xlabel=f"NPV ({analysis.assumptions.currency})",
    )
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    data: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "headline": headline_json(analysis.headline, analysis),
        "quality_in_words": analysis.words,
        "value_model": _value_model(analysis, settings, evidence),
        **({"decision": _decision(analysis)} if analysis.decision else {}),
        **({"confusion_matrix": _confusion(analysis)} if analysis.decision else {}),
        "quality": analysis.quality,
        "uncertainty": _uncertainty(analysis),
        "sensitivity": _sensitivity(analysis),
        "tuning": trials_section,
        "spend": _spend_section(evidence, analysis),
        "provenance": _provenance(settings, evidence, generated),
    }
    return Report(data, charts, evidence.parent.run_id if evidence.parent is not None else None, analysis.headline)


def headline_json(h: Headline, analysis: Analysis) -> dict[str, Any]:
    return {
        "currency": h.currency,
        "recommendation": h.recommendation,
        "reason": h.reason,
        "npv": cents_text(h.npv),
        "npv_p10": cents_text(h.npv_p10),
        "npv_p90": cents_text(h.npv_p90),
        "net_benefit": cents_text(h.net_benefit),
        "roi_percent": whole_percent(h.roi),
        "roi_p10_percent": whole_percent(h.roi_p10),
        "roi_p90_percent": whole_percent(h.roi_p90),
        "roi_note": h.roi_reason,
        "probability_npv_positive": ratio(h.probability_npv_positive),
        "monthly_benefit": cents_text(h.monthly_benefit),
        "development_cost": cents_text(h.development_cost),
        "development_cost_basis": h.spend_basis,
        "payback_months": None if h.payback_months is None else str(h.payback_months.quantize(Decimal("0.1"))),
        "payback_note": h.payback_reason,
        "horizon_months": h.horizon_months,
        "warnings": list(h.warnings),
        "notes": list(analysis.notes),
    }


def _value_model(analysis: Analysis, settings: Settings, evidence: Evidence) -> dict[str, Any]:
    a, result = analysis.assumptions, analysis.result
    labels = {name: label for name, label, _ in roi.numeric_assumptions(a)}
    out: dict[str, Any] = {
        "task": evidence.task,
        "currency": a.currency,
        "baseline": _baseline_name(settings),
        "horizon_months": a.horizon_months,
        "predictions_per_month": str(a.predictions_per_month),
        "production_positive_rate": None if a.production_positive_rate is None else str(a.production_positive_rate),
    }
    out.update(_outcome_values(analysis, evidence.task))
    return {
        **out,
        "cloud_cost": cents_text(a.cloud_cost),
        "one_off_costs": [{"name": c.name, "amount": cents_text(c.amount)} for c in a.one_off_costs],
        "development_cost": cents_text(result.development_cost),
        "running_cost_per_month": cents_text(a.running_cost_per_month),
        "running_cost_source": (
            f"measured: billed spend tagged {_tags(evidence.running.tags)}, "
            f"average of {', '.join(evidence.running.months)}"
            if evidence.running
            else "configured"
        ),
        "discount_rate_annual": str(a.discount_rate_annual),
        "ramp_up_months": a.ramp_up_months,
        "ranges": {
            name: {"label": labels.get(name, name), "low": str(r.low), "likely": str(r.likely), "high": str(r.high)}
            for name, r in a.ranges.items()
        },
        "value_per_prediction_model": cents_text(result.value_per_prediction_model),
        "value_per_prediction_baseline": cents_text(result.value_per_prediction_baseline),
        "uplift_per_prediction": cents_text(result.uplift_per_prediction),
        "monthly_benefit": cents_text(result.monthly_benefit),
        "gross_benefit": cents_text(result.gross_benefit),
        "running_cost": cents_text(result.running_cost),
        "total_cost": cents_text(result.total_cost),
        "net_benefit": cents_text(result.net_benefit),
        "npv": cents_text(result.npv),
        "roi": ratio(result.roi),
        "roi_percent": whole_percent(result.roi),
        "roi_note": result.roi_reason,
        "payback_months": ratio(result.payback_months),
        "payback_note": result.payback_reason,
        "break_even_predictions_per_month": ratio(result.break_even_predictions_per_month),
        "break_even_note": result.break_even_reason,
    }


def _outcome_values(analysis: Analysis, task: str) -> dict[str, Any]:
    """What each outcome is worth (classification), or each unit of error (regression)."""
    a = analysis.assumptions
    if task != "classification":
        return {"value_per_unit_error": cents_text(a.value_per_unit_error), "value_of_a_catch": None}
    tp, fp, fn, tn = a.outcome_values()
    action = a.action
    return {
        "test_positive_rate": ratio(analysis.decision.test_positive_rate) if analysis.decision else None,
        "value_per_outcome": {
            "true_positive": cents_text(tp),
            "false_positive": cents_text(fp),
            "false_negative": cents_text(fn),
            "true_negative": cents_text(tn),
        },
        "value_of_a_catch": cents_text(a.value_of_a_catch),
        "action": None
        if action is None
        else {
            "value_if_caught": cents_text(action.value_if_caught),
            "success_rate": str(action.success_rate),
            "action_cost": cents_text(action.action_cost),
        },
    }


def _tags(tags: dict[str, str]) -> str:
    return " and ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _decision(analysis: Analysis) -> dict[str, Any]:
    d = analysis.decision
    assert d is not None
    return {
        # repr: the shortest text that reads back as the same float, so every decision reproduces.
        "threshold": repr(d.threshold),
        "rule": "flag a case when its score is at or above the threshold",
        "chosen_on": "validation predictions, to maximise expected value under the production positive rate",
        "value_per_prediction_at_threshold": cents_text(analysis.result.value_per_prediction_model),
        "value_per_prediction_at_0_5": cents_text(d.at_half.value_per_prediction_model),
        "npv_at_0_5": cents_text(d.at_half.npv),
    }


def _confusion(analysis: Analysis) -> dict[str, Any]:
    d = analysis.decision
    assert d is not None
    values = dict(zip(("tp", "fp", "fn", "tn"), analysis.assumptions.outcome_values(), strict=True))
    cells = {
        name: {
            "count": getattr(d.model, name),
            "value_each": cents_text(values[name]),
            "total": cents_text(values[name] * getattr(d.model, name)),
        }
        for name in ("tp", "fp", "fn", "tn")
    }
    return {
        "test_rows": d.model.n,
        "cells": cells,
        "tpr": ratio(d.model.tpr),
        "fpr": ratio(d.model.fpr),
        "baseline": {"tp": d.baseline.tp, "fp": d.baseline.fp, "fn": d.baseline.fn, "tn": d.baseline.tn},
    }


def _uncertainty(analysis: Analysis) -> dict[str, Any]:
    u = analysis.uncertainty
    return {
        "method": u.method,
        "replicates": u.replicates,
        "seed": u.seed,
        "varied": list(u.varied),
        "npv_p10": cents_text(u.npv_p10),
        "npv_p50": cents_text(u.npv_p50),
        "npv_p90": cents_text(u.npv_p90),
        "roi_p10_percent": whole_percent(u.roi_p10),
        "roi_p50_percent": whole_percent(u.roi_p50),
        "roi_p90_percent": whole_percent(u.roi_p90),
        "probability_npv_positive": ratio(u.probability_npv_positive),
    }


def _sensitivity(analysis: Analysis) -> dict[str, Any]:
    return {
        "figure": "npv",
        "rows": [
            {
                "assumption": s.assumption,
                "low": str(s.low_value),
                "high": str(s.high_value),
                "range": "its own range" if s.ranged else "±20%",
                "npv_low": cents_text(s.npv_low),
                "npv_high": cents_text(s.npv_high),
            }
            for s in analysis.sensitivity
        ],
    }


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


# -- tuning, spend, provenance ---------------------------------------------------------------------


def _tuning(e: Evidence) -> tuple[dict[str, Any], dict[str, str]]:
    trials, metric_key, direction = e.trials, e.metric_key, e.direction
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    ordered = sorted(trials, key=lambda t: t.number)
    values = [t.metrics.get(metric_key) if t.state == "COMPLETE" else None for t in ordered]
    cumulative: list[float] = []
    running = Decimal(0)
    for t in ordered:
        running += Decimal(str(t.metrics.get("cost_usd_estimated", 0.0)))
        cumulative.append(float(running))
    maximize = direction == "maximize"
    charts = {
        "by_trial": progress_chart(
            [t.number for t in ordered], values, maximize=maximize, xlabel="trial number", ylabel=metric_key
        ),
        "by_cost": progress_chart(
            cumulative, values, maximize=maximize, xlabel="cumulative estimated cost (USD)", ylabel=metric_key
        ),
    }
    done = [t for t in ordered if t.state == "COMPLETE" and metric_key in t.metrics]
    done.sort(key=lambda t: t.metrics[metric_key], reverse=maximize)
    top = [
        {
            "trial": t.number,
            metric_key: fmt(t.metrics[metric_key]),
            "test": fmt(t.metrics.get("test_" + metric_key.removeprefix("val_"))),
            "params": {k: _short(v) for k, v in sorted(t.params.items())},
            "run_id": t.run_id,
        }
        for t in done[:5]
    ]
    return {
        "metric": metric_key,
        "direction": direction,
        "trials_by_state": dict(sorted(counts.items())),
        "trials": len(trials),
        "estimated_cost_usd": cents_text(running),
        "top_trials": top,
        "parameter_importances": e.importances,
        "stop_reason": e.parent.stop_reason if e.parent is not None else None,
    }, charts


def _spend_section(e: Evidence, analysis: Analysis) -> dict[str, Any]:
    spend, a = e.spend, analysis.assumptions
    by_service = [{"service": k, "amount": cents_text(v)} for k, v in spend.by_service().items()]
    by_charge_type = [
        {"charge_type": k, "amount": cents_text(v), "amount_exact": exact_text(v)}
        for k, v in spend.by_charge_type().items()
    ]
    by_period = [
        {"period_start": p.isoformat(), "period_end": q.isoformat(), "amount": cents_text(v)}
        for (p, q), v in spend.by_period().items()
    ]
    # A year of daily rows is for machines (they are all in the JSON); people get months.
    shown, shown_as = by_period, "period"
    if len(by_period) > 31:
        shown = [{"period_start": k, "period_end": "", "amount": cents_text(v)} for k, v in spend.by_month().items()]
        shown_as = "month"
    # The development cost, line by line: each charge type of the cloud bill, then each one-off cost.
    lines = [{"line": f"cloud: {row['charge_type']}", "amount": row["amount"]} for row in by_charge_type]
    lines += [{"line": f"one-off: {c.name}", "amount": cents_text(c.amount)} for c in a.one_off_costs]
    w = e.window
    section: dict[str, Any] = {
        "source": spend.source,
        "window": {
            "start": w.start.isoformat() if w.start else None,
            "end": w.end.isoformat() if w.end else None,
            "chosen_by": w.chosen_by,
            "runs_first_day": w.runs_first.isoformat() if w.runs_first else None,
            "runs_last_day": w.runs_last.isoformat() if w.runs_last else None,
        },
        "filter": spend.filter.to_json(),
        "basis": basis(e),
        "metric": spend.filter.metric,
        "currency": spend.currency,
        "total": cents_text(spend.total),
        "total_exact": exact_text(spend.total),
        "estimated": spend.estimated,
        "estimated_lines": sum(r.estimated for r in spend.rows),
        "by_service": by_service,
        "by_charge_type": by_charge_type,
        "development_cost_lines": lines,
        "development_cost": cents_text(analysis.result.development_cost),
        "by_period": by_period,
        "by_period_shown": shown,
        "shown_as": shown_as,
        "details": dict(spend.details),
        "notes": list(spend.notes),
        "estimated_alongside": None,
    }
    estimated = estimated_alongside(e)
    if estimated is not None:
        # Billed beside estimated: the sweep's own per-trial estimates, already read with the runs.
        section["estimated_alongside"] = {
            "total": cents_text(estimated),
            "currency": "USD",
            "source": "the sweep's estimate from trial durations",
        }
    return section


def _provenance(settings: Settings, e: Evidence, generated: datetime) -> dict[str, Any]:
    from tracker import __version__

    experiment_id, parent, best_id = e.experiment_id, e.parent, e.best.run_id
    uri = e.tracking_uri
    link = None
    if uri.startswith(("http://", "https://")):
        link = f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/"
    # Redacted: a password in a storage or tracking URL never reaches a page, a file or MLflow.
    return redact_all(
        {
            "experiment": settings.experiment,
            "experiment_id": experiment_id,
            "sweep_run_id": parent.run_id if parent is not None else None,
            "best_run_id": best_id,
            "links": {
                "sweep": f"{link}{parent.run_id}" if link and parent is not None else None,
                "best": f"{link}{best_id}" if link else None,
            },
            "tracking_uri": uri,
            "tool": "tracker",
            "version": __version__,
            "generated_at": generated.isoformat(),
            "config": settings.model_dump(mode="json"),
        }
    )
