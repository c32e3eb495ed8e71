"""Gathering a report: the best run, its predictions, the spend, the ROI model, the tuning history.

Everything is read here; ``reports.roi`` computes; ``reports.render`` draws. The result is
one JSON-ready mapping holding every figure the report shows, money as decimal strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reports import roi
from reports.charts import progress_chart, tornado_chart
from tracker.errors import ConfigError, TrackerError, UsageError
from tracker.metrics import classification_metrics, regression_metrics
from tracker.money import cents, cents_text, exact_text
from tracker.runs import CHAMPION_ALIAS, RunStore, SweepRun, TrialRun
from tracker.urls import redact_all

if TYPE_CHECKING:
    import pandas as pd

    from cost.table import SpendTable
    from tracker.config import Settings

__all__ = ["Report", "build_report"]

RATIO = Decimal("0.0001")


def ratio(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(RATIO))


def percent(value: Decimal | None) -> str | None:
    return None if value is None else str(cents(value * 100))


@dataclass(frozen=True)
class Report:
    """Every figure of the report (``data``, JSON-ready) and its charts as SVG."""

    data: dict[str, Any]
    charts: dict[str, str]
    parent_run_id: str | None

    @property
    def headline(self) -> dict[str, Any]:
        return dict(self.data["headline"])


@dataclass(frozen=True)
class _Gathered:
    """Everything read for a report: the runs, the best run's predictions, the spend."""

    parent: SweepRun | None
    best: TrialRun
    experiment_id: str
    trials: list[TrialRun]
    metric_key: str
    direction: str
    task: str
    test: pd.DataFrame
    val: pd.DataFrame
    spend: SpendTable


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
    """Gather the runs, predictions and spend; compute the value model; every figure in one mapping."""
    store = store or RunStore.open(settings.tracking_uri)
    g = _gather(store, settings, run_id, spend, refresh=refresh, check_tags=check_tags)
    inputs = _inputs(settings, g.spend.total if g.spend.rows else None, g.task)
    if g.task == "classification":
        analysis = _classify(g.test, g.val, inputs, store, settings)
    else:
        analysis = _regress(g.test, g.best, inputs, store, settings)
    figure, sensitivities = analysis.sensitivity
    trials_section, charts = _tuning(g, settings)
    charts["tornado"] = tornado_chart(
        [(s.assumption, s.low, s.high) for s in sensitivities],
        analysis.result.roi if figure == "roi" else analysis.result.net_benefit,
        xlabel="ROI" if figure == "roi" else f"net benefit ({inputs.currency})",
    )
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    data: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "headline": _headline(analysis, inputs, g.spend),
        "quality_in_words": analysis.words,
        "value_model": _value_model(analysis, inputs, settings, g.task),
        **analysis.sections,
        "uncertainty": _uncertainty(analysis.uncertainty),
        "sensitivity": _sensitivity(figure, sensitivities),
        "tuning": trials_section,
        "spend": _spend_section(g.spend, g.trials),
        "provenance": _provenance(settings, store, g, generated),
    }
    return Report(data, charts, g.parent.run_id if g.parent is not None else None)


REPORT_SCHEMA = "tracker.roi-report/1"


def _gather(
    store: RunStore,
    settings: Settings,
    run_id: str | None,
    spend: SpendTable | None,
    *,
    refresh: bool,
    check_tags: bool,
) -> _Gathered:
    parent, best, experiment_id = _resolve_runs(store, settings, run_id)
    trials = store.trial_runs(experiment_id, parent.run_id) if parent is not None else []
    metric_key = (parent.metric_key if parent is not None else None) or _guess_metric(best.metrics)
    if metric_key not in best.metrics:
        raise TrackerError(
            f"the objective metric {metric_key} is missing from run {best.run_id}; was the sweep interrupted?"
        )
    test = store.load_predictions(best.run_id, "test")
    val = store.load_predictions(best.run_id, "val")
    if test is None or val is None:
        raise TrackerError(
            f"run {best.run_id} has no predictions/test.parquet and predictions/val.parquet; the report needs the "
            "champion of a built-in trainer (a function objective logs no predictions)"
        )
    if spend is None:
        from cost.service import fetch_spend

        spend = fetch_spend(settings, refresh=refresh, check_tags=check_tags)
    if spend.rows and spend.currency != settings.roi.currency:
        raise UsageError(
            f"roi.currency is {settings.roi.currency} but the spend is in {spend.currency}; "
            "set roi.currency to match, or choose the spend with --currency"
        )
    binary = "y_score" in test.columns
    task = "classification" if binary else ((parent.task if parent is not None else None) or "regression")
    if task == "classification" and not binary:
        raise UsageError("the value model needs a binary classifier or a regression; this model has more classes")
    direction = parent.direction if parent is not None else "maximize"
    return _Gathered(parent, best, experiment_id, trials, metric_key, direction, task, test, val, spend)


def _headline(analysis: _Analysis, inputs: roi.RoiInputs, spend: SpendTable) -> dict[str, Any]:
    result, uncertainty = analysis.result, analysis.uncertainty
    decision, reason = roi.recommend(result, uncertainty)
    return {
        "currency": inputs.currency,
        "roi": ratio(result.roi),
        "roi_percent": percent(result.roi),
        "roi_p10_percent": percent(uncertainty.roi_p10),
        "roi_p90_percent": percent(uncertainty.roi_p90),
        "roi_note": result.roi_undefined_reason,
        "net_benefit": cents_text(result.net_benefit),
        "net_benefit_p10": cents_text(uncertainty.net_p10),
        "net_benefit_p90": cents_text(uncertainty.net_p90),
        "monthly_benefit": cents_text(result.monthly_benefit),
        "development_cost": cents_text(result.development_cost),
        "development_cost_estimated": spend.estimated,
        "payback_months": cents_text(result.payback_months),
        "payback_note": result.payback_reason,
        "probability_positive": percent(uncertainty.probability_roi_positive),
        "recommendation": decision,
        "reason": reason,
    }


def _value_model(analysis: _Analysis, inputs: roi.RoiInputs, settings: Settings, task: str) -> dict[str, Any]:
    result = analysis.result
    return {
        "task": task,
        "currency": inputs.currency,
        "horizon_months": inputs.horizon_months,
        "predictions_per_month": str(inputs.predictions_per_month),
        "running_cost_per_month": cents_text(inputs.running_cost_per_month),
        "baseline": _baseline_name(settings),
        **analysis.values,
        "value_per_prediction_model": cents_text(result.value_per_prediction_model),
        "value_per_prediction_baseline": cents_text(result.value_per_prediction_baseline),
        "uplift_per_prediction": cents_text(result.uplift_per_prediction),
        "monthly_benefit": cents_text(result.monthly_benefit),
        "gross_benefit": cents_text(result.gross_benefit),
        "development_cost": cents_text(result.development_cost),
        "running_cost": cents_text(result.running_cost),
        "total_cost": cents_text(result.total_cost),
        "net_benefit": cents_text(result.net_benefit),
        "roi": ratio(result.roi),
        "roi_note": result.roi_undefined_reason,
        "payback_months": ratio(result.payback_months),
        "payback_note": result.payback_reason,
        "break_even_predictions_per_month": ratio(result.break_even_predictions_per_month),
        "break_even_note": result.break_even_reason,
    }


def _uncertainty(uncertainty: roi.Uncertainty) -> dict[str, Any]:
    return {
        "method": "seeded bootstrap over the test predictions",
        "replicates": uncertainty.replicates,
        "seed": uncertainty.seed,
        "roi_p10": ratio(uncertainty.roi_p10),
        "roi_p50": ratio(uncertainty.roi_p50),
        "roi_p90": ratio(uncertainty.roi_p90),
        "net_benefit_p10": cents_text(uncertainty.net_p10),
        "net_benefit_p50": cents_text(uncertainty.net_p50),
        "net_benefit_p90": cents_text(uncertainty.net_p90),
        "probability_net_benefit_positive": ratio(uncertainty.probability_roi_positive),
    }


def _sensitivity(figure: str, sensitivities: list[roi.Sensitivity]) -> dict[str, Any]:
    shown = ratio if figure == "roi" else cents_text
    return {
        "figure": figure,
        "swing": "20%",
        "rows": [{"assumption": s.assumption, "low": shown(s.low), "high": shown(s.high)} for s in sensitivities],
    }


# -- the runs ------------------------------------------------------------------------------------


def _resolve_runs(store: RunStore, settings: Settings, run_id: str | None) -> tuple[SweepRun | None, TrialRun, str]:
    """(the sweep's parent run, the run reported, the experiment), from ``--run`` or the latest sweep."""
    if run_id is not None:
        run = store.run(run_id)
        if isinstance(run, SweepRun):
            return run, _best_of(store, run), run.experiment_id
        parent = store.sweep_run(run.parent_run_id) if run.parent_run_id else None
        return parent, run, run.experiment_id
    experiment_id = store.experiment_id(settings.experiment)
    parent = store.latest_sweep_run(experiment_id)
    return parent, _best_of(store, parent), experiment_id


def _best_of(store: RunStore, parent: SweepRun) -> TrialRun:
    if parent.best_run_id:
        best = store.run(parent.best_run_id)
        if isinstance(best, TrialRun):
            return best
    metric = parent.metric_key
    done = [t for t in store.trial_runs(parent.experiment_id, parent.run_id) if t.state == "COMPLETE"]
    if not done or metric is None:
        raise UsageError(f"the sweep {parent.name!r} has no finished runs; run `tracker sweep` until a trial completes")
    sign = -1 if parent.direction == "minimize" else 1
    return max(done, key=lambda t: sign * t.metrics.get(metric, float("-inf") * sign))


def _guess_metric(metrics: dict[str, float]) -> str:
    for key in ("val_f1", "val_roc_auc", "val_rmse"):
        if key in metrics:
            return key
    raise TrackerError("the run records no objective metric (val_<metric>); was it made by `tracker sweep`?")


def _inputs(settings: Settings, development: Decimal | None, task: str) -> roi.RoiInputs:
    r = settings.roi
    values = r.value_per_outcome
    if task == "classification" and values is None:
        raise ConfigError(
            "roi.value_per_outcome: required for a classifier; give true_positive, false_positive, "
            "false_negative and true_negative (money per prediction)"
        )
    if task == "regression" and r.value_per_unit_error is None:
        raise ConfigError("roi.value_per_unit_error: required for a regression model (money per unit of error)")
    return roi.RoiInputs(
        currency=r.currency,
        horizon_months=r.horizon_months,
        predictions_per_month=r.predictions_per_month,
        running_cost_per_month=r.running_cost_per_month,
        development_cost=development,
        value_tp=values.true_positive if values else Decimal(0),
        value_fp=values.false_positive if values else Decimal(0),
        value_fn=values.false_negative if values else Decimal(0),
        value_tn=values.true_negative if values else Decimal(0),
        value_per_unit_error=r.value_per_unit_error or Decimal(0),
    )


def _baseline_name(settings: Settings) -> str:
    baseline = settings.roi.baseline
    if baseline == "no_model":
        return "no model"
    kind, value = next(iter(baseline.items()))
    return f"{kind} {value}"


def _baseline_predictions(store: RunStore, settings: Settings, test: pd.DataFrame) -> pd.DataFrame | None:
    """The baseline's test predictions, or None for ``no_model``."""
    baseline = settings.roi.baseline
    if baseline == "no_model":
        return None
    kind, value = next(iter(baseline.items()))
    if kind == "model":
        name, _, alias = value.partition("@")
        run_id = store.champion_run_id(name, alias or CHAMPION_ALIAS)
        if run_id is None:
            raise UsageError(f"roi.baseline: no registered model {value!r} (NAME@alias) in {store.tracking_uri}")
    else:
        run_id = value
        store.run(run_id)  # a clear error when there is no such run
    frame = store.load_predictions(run_id, "test")
    if frame is None:
        raise UsageError(f"roi.baseline: run {run_id} has no predictions/test.parquet")
    if len(frame) != len(test) or not (frame["y_true"].to_numpy() == test["y_true"].to_numpy()).all():
        raise UsageError(f"roi.baseline: run {run_id} was tested on other data; compare models on the same split")
    return frame


# -- the value model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Analysis:
    """What the value model found, for either task; ``sections`` go into the JSON as they are."""

    result: roi.RoiResult
    uncertainty: roi.Uncertainty
    sensitivity: tuple[str, list[roi.Sensitivity]]
    words: list[str]
    values: dict[str, Any]
    sections: dict[str, Any]


def _classify(
    test: pd.DataFrame, val: pd.DataFrame, inputs: roi.RoiInputs, store: RunStore, settings: Settings
) -> _Analysis:
    y_true = [int(v) for v in test["y_true"]]
    scores = [float(v) for v in test["y_score"]]
    threshold = roi.best_threshold([int(v) for v in val["y_true"]], [float(v) for v in val["y_score"]], inputs)
    outcomes = roi.outcomes_of(y_true, scores, threshold)
    at_half = roi.count_outcomes(roi.outcomes_of(y_true, scores, 0.5))
    baseline_frame = _baseline_predictions(store, settings, test)
    # No model flags nobody; another model's own decisions are its 0/1 predictions.
    base_pred = [0] * len(y_true) if baseline_frame is None else [int(v) for v in baseline_frame["y_pred"]]
    base_outcomes = roi.outcomes_of(y_true, base_pred, 0.5)
    counts = roi.count_outcomes(outcomes)
    base = roi.count_outcomes(base_outcomes)

    def evaluate(rows: list[int]) -> roi.RoiResult:
        return roi.classification_roi(
            roi.count_outcomes(outcomes, rows), roi.count_outcomes(base_outcomes, rows), inputs
        )

    result = roi.classification_roi(counts, base, inputs)
    result_half = roi.classification_roi(at_half, base, inputs)
    uncertainty = roi.bootstrap(
        len(outcomes), evaluate, replicates=settings.roi.bootstrap_replicates, seed=settings.seed
    )
    sens = roi.sensitivity(lambda i: roi.classification_roi(counts, base, i), inputs)
    quality = _classification_quality(y_true, outcomes, scores, val, threshold, base_pred)
    values = {
        "value_per_outcome": {
            "true_positive": cents_text(inputs.value_tp),
            "false_positive": cents_text(inputs.value_fp),
            "false_negative": cents_text(inputs.value_fn),
            "true_negative": cents_text(inputs.value_tn),
        },
    }
    sections = {
        "decision": {
            "threshold": str(round(threshold, 6)),
            "chosen_on": "validation predictions, to maximise expected value",
            "value_per_prediction_at_threshold": cents_text(result.value_per_prediction_model),
            "value_per_prediction_at_0_5": cents_text(result_half.value_per_prediction_model),
            "net_benefit_at_0_5": cents_text(result_half.net_benefit),
        },
        "confusion_matrix": _confusion_section(counts, base, inputs),
        "quality": quality,
    }
    words = roi.plain_quality(counts, settings.roi.positive_name)
    return _Analysis(result, uncertainty, sens, words, values, sections)


def _classification_quality(
    y_true: list[int],
    outcomes: list[str],
    scores: list[float],
    val: pd.DataFrame,
    threshold: float,
    base_pred: list[int],
) -> list[dict[str, Any]]:
    """Each quality metric of the model at its threshold, on test and validation, beside the baseline's."""
    predicted = [1 if o in ("tp", "fp") else 0 for o in outcomes]
    model_metrics = classification_metrics(y_true, predicted, scores)
    val_predicted = [1 if s >= threshold else 0 for s in val["y_score"]]
    val_metrics = classification_metrics([int(v) for v in val["y_true"]], val_predicted, list(val["y_score"]))
    baseline_metrics = classification_metrics(y_true, base_pred, None)
    return _quality_rows(model_metrics, val_metrics, baseline_metrics, "classification")


def _confusion_section(counts: roi.Confusion, base: roi.Confusion, inputs: roi.RoiInputs) -> dict[str, Any]:
    cells = {
        name: {
            "count": getattr(counts, name),
            "value_each": cents_text(getattr(inputs, f"value_{name}")),
            "total": cents_text(getattr(inputs, f"value_{name}") * getattr(counts, name)),
        }
        for name in ("tp", "fp", "fn", "tn")
    }
    return {
        "test_rows": counts.n,
        "cells": cells,
        "baseline": {"tp": base.tp, "fp": base.fp, "fn": base.fn, "tn": base.tn},
    }


def _regress(
    test: pd.DataFrame, best: TrialRun, inputs: roi.RoiInputs, store: RunStore, settings: Settings
) -> _Analysis:
    y_true = [float(v) for v in test["y_true"]]
    y_pred = [float(v) for v in test["y_pred"]]
    baseline_frame = _baseline_predictions(store, settings, test)
    if baseline_frame is None:
        if best.train_mean is None:
            raise TrackerError(
                f"run {best.run_id} does not record its training mean, which the no-model baseline predicts; "
                "rerun the sweep to register its champion again"
            )
        base_pred = [best.train_mean] * len(y_true)
    else:
        base_pred = [float(v) for v in baseline_frame["y_pred"]]
    model_err = [abs(Decimal(repr(t)) - Decimal(repr(p))) for t, p in zip(y_true, y_pred, strict=True)]
    base_err = [abs(Decimal(repr(t)) - Decimal(repr(p))) for t, p in zip(y_true, base_pred, strict=True)]
    n = len(y_true)
    model_total, base_total = sum(model_err, Decimal(0)), sum(base_err, Decimal(0))

    def evaluate(rows: list[int]) -> roi.RoiResult:
        return roi.regression_roi(
            sum((model_err[i] for i in rows), Decimal(0)), sum((base_err[i] for i in rows), Decimal(0)), n, inputs
        )

    result = roi.regression_roi(model_total, base_total, n, inputs)
    uncertainty = roi.bootstrap(n, evaluate, replicates=settings.roi.bootstrap_replicates, seed=settings.seed)
    sens = roi.sensitivity(lambda i: roi.regression_roi(model_total, base_total, n, i), inputs)
    quality = _quality_rows(regression_metrics(y_true, y_pred), {}, regression_metrics(y_true, base_pred), "regression")
    words = [f"Its predictions are off by {model_total / n:.3g} on average, against {base_total / n:.3g} without it."]
    values = {"value_per_unit_error": cents_text(inputs.value_per_unit_error)}
    return _Analysis(result, uncertainty, sens, words, values, {"quality": quality})


DEFINITIONS = {
    "accuracy": "share of all predictions that are right",
    "precision": "share of flagged cases that really are positive",
    "recall": "share of real positives that are flagged",
    "f1": "balance of precision and recall (their harmonic mean)",
    "roc_auc": "chance a random positive is scored above a random negative",
    "mse": "mean of squared errors",
    "rmse": "typical size of an error, in the target's units",
    "mae": "mean absolute error, in the target's units",
    "r2": "share of the target's variance explained",
}


def _quality_rows(
    test: dict[str, float], val: dict[str, float], baseline: dict[str, float], task: str
) -> list[dict[str, Any]]:
    names = (
        ["accuracy", "precision", "recall", "f1", "roc_auc"]
        if task == "classification"
        else ["mse", "rmse", "mae", "r2"]
    )
    return [
        {
            "metric": name,
            "definition": DEFINITIONS[name],
            "test": _fmt(test.get(name)),
            "validation": _fmt(val.get(name)),
            "baseline": _fmt(baseline.get(name)),
        }
        for name in names
    ]


def _short(value: str) -> str:
    """A logged parameter for a table: long floats to four significant digits."""
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() or len(value) <= 8 else f"{number:.4g}"


def _fmt(value: float | None) -> str | None:
    return None if value is None else f"{value:.4f}"


# -- tuning, spend, provenance ---------------------------------------------------------------------


def _tuning(g: _Gathered, settings: Settings) -> tuple[dict[str, Any], dict[str, str]]:
    trials, metric_key, direction = g.trials, g.metric_key, g.direction
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
            metric_key: _fmt(t.metrics[metric_key]),
            "test": _fmt(t.metrics.get("test_" + metric_key.removeprefix("val_"))),
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
        "parameter_importances": _importances(settings, g.parent.study if g.parent is not None else None),
        "stop_reason": g.parent.stop_reason if g.parent is not None else None,
    }, charts


def _importances(settings: Settings, study_name: str | None) -> dict[str, str]:
    """fANOVA importances from the Optuna study, when its storage is reachable."""
    if not study_name:
        return {}
    try:
        import warnings

        import optuna

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.load_study(study_name=study_name, storage=settings.storage)
            if len(study.directions) != 1:
                return {}
            complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
            if len(complete) < 3:
                return {}
            importances = optuna.importance.get_param_importances(study)
    except Exception:  # a missing storage only leaves this table out
        return {}
    return {name: f"{value:.3f}" for name, value in importances.items()}


def _spend_section(spend: SpendTable, trials: list[TrialRun]) -> dict[str, Any]:
    by_service = [{"service": k, "amount": cents_text(v)} for k, v in spend.by_service().items()]
    by_charge_type = [
        {"charge_type": k, "amount": cents_text(v), "amount_exact": exact_text(v)}
        for k, v in spend.by_charge_type().items()
    ]
    by_period = [
        {"period_start": a.isoformat(), "period_end": b.isoformat(), "amount": cents_text(v)}
        for (a, b), v in spend.by_period().items()
    ]
    # A year of daily rows is for machines (they are all in the JSON); people get months.
    shown = by_period
    shown_as = "period"
    if len(by_period) > 31:
        months: dict[str, Decimal] = {}
        for (a, _b), v in spend.by_period().items():
            months[a.strftime("%Y-%m")] = months.get(a.strftime("%Y-%m"), Decimal(0)) + v
        shown = [{"period_start": k, "period_end": "", "amount": cents_text(v)} for k, v in months.items()]
        shown_as = "month"
    section: dict[str, Any] = {
        "source": spend.source,
        "filter": spend.filter.to_json(),
        "basis": spend.filter.metric,
        "currency": spend.currency,
        "total": cents_text(spend.total),
        "total_exact": exact_text(spend.total),
        "estimated": spend.estimated,
        "estimated_lines": sum(r.estimated for r in spend.rows),
        "by_service": by_service,
        "by_charge_type": by_charge_type,
        "by_period": by_period,
        "by_period_shown": shown,
        "shown_as": shown_as,
        "details": dict(spend.details),
        "notes": list(spend.notes),
        "estimated_alongside": None,
    }
    if spend.source != "estimate" and trials:
        # Billed beside estimated: the sweep's own per-trial estimates, already read with the runs.
        estimated = sum((Decimal(str(t.metrics.get("cost_usd_estimated", 0.0))) for t in trials), Decimal(0))
        section["estimated_alongside"] = {
            "total": cents_text(estimated),
            "currency": "USD",
            "source": "the sweep's estimate from trial durations",
        }
    return section


def _provenance(settings: Settings, store: RunStore, g: _Gathered, generated: datetime) -> dict[str, Any]:
    from tracker import __version__

    experiment_id, parent, best_id = g.experiment_id, g.parent, g.best.run_id
    uri = store.tracking_uri
    link = None
    if uri.startswith(("http://", "https://")):
        base = uri.rstrip("/")
        link = f"{base}/#/experiments/{experiment_id}/runs/"
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
