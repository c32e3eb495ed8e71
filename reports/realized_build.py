"""The plan-vs-actual report: the plan from the logged ROI report, the production log, the running cost.

Gathers (the plan, the test set's scores, the monthly outcomes, the billed running cost),
computes with ``reports.realized`` (pure), and presents one JSON-ready mapping (schema
``tracker.realized-report/1``) with its charts; ``publish_realized`` writes the three
files and logs the months on the sweep's parent run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from reports.build import Report, whole_percent
from reports.charts import cumulative_chart, psi_chart
from reports.gather import resolve_runs
from reports.outcomes import Outcomes, read_outcomes
from reports.publish import write_files
from reports.realized import Month, Plan, Realized, realize
from tracker.errors import TrackerError, UsageError
from tracker.money import cents_text
from tracker.runs import RunStore, TrialRun
from tracker.urls import redact_all
from tracker.value import Confusion, OutcomeValues

if TYPE_CHECKING:
    from tracker.config import Settings

__all__ = ["REALIZED_SCHEMA", "build_realized", "publish_realized"]

REALIZED_SCHEMA = "tracker.realized-report/1"
PLAN_SCHEMA = "tracker.roi-report/2"
DECILES = [q / 10 for q in range(1, 10)]


@dataclass(frozen=True)
class _Plan:
    plan: Plan
    figures: Mapping[str, Any]
    parent_run_id: str | None
    best: TrialRun
    experiment_id: str


def build_realized(
    settings: Settings,
    outcomes_path: Path,
    *,
    store: RunStore,
    run_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    refresh: bool = False,
    check_tags: bool = True,
    now: datetime | None = None,
) -> Report:
    """Every month of production against the plan, the project to date, the drift, and a recommendation."""
    planned = _load_plan(store, settings, run_id, refresh=refresh, check_tags=check_tags)
    plan = planned.plan
    edges = _edges(store, planned.best.run_id, plan.task)
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
            f"--outcomes: no prediction in {outcomes_path} falls between {start or 'the start'} and {end or 'the end'} "
            f"({outcomes.outside_window} outside); widen --start/--end"
        )
    running = _running_costs(settings, plan, outcomes, refresh=refresh)
    realized = realize(plan, outcomes.months, running, positive_name=settings.roi.positive_name)
    generated = (now or datetime.now(tz=UTC)).replace(microsecond=0)
    data = _present(settings, planned, realized, outcomes, start, end, store.tracking_uri, generated)
    charts = _charts(realized, plan.currency)
    return Report(data, charts, planned.parent_run_id)


# -- gathering ---------------------------------------------------------------------------------------


def _load_plan(store: RunStore, settings: Settings, run_id: str | None, *, refresh: bool, check_tags: bool) -> _Plan:
    """The plan: the ROI report logged on the sweep's parent run, or one computed from the config."""
    parent, best, experiment_id = resolve_runs(store, settings, run_id)
    figures = store.load_report_figures(parent.run_id) if parent is not None else None
    source = f"the ROI report logged on run {parent.run_id}" if figures and parent is not None else ""
    if figures is None:
        from reports.build import build_report

        figures = build_report(settings, run_id=run_id, store=store, refresh=refresh, check_tags=check_tags).data
        source = "computed from the config, as tracker report would (no report was logged on the sweep)"
    if figures.get("schema") != PLAN_SCHEMA:
        raise UsageError(f"the report logged on the sweep is {figures.get('schema')!r}; rerun tracker report first")
    return _Plan(_plan_of(figures, source), figures, parent.run_id if parent else None, best, experiment_id)


def _plan_of(figures: Mapping[str, Any], source: str) -> Plan:
    vm = figures["value_model"]
    if vm["baseline"] != "no model":
        raise UsageError(
            f"the plan's baseline is {vm['baseline']}; tracker realized compares against the no-model baseline only"
        )
    values = test = threshold = None
    rate = Decimal(0)
    if vm["task"] == "classification":
        v = vm["value_per_outcome"]
        cells = figures["confusion_matrix"]["cells"]
        test = Confusion(*(int(cells[k]["count"]) for k in ("tp", "fp", "fn", "tn")))
        given = vm["production_positive_rate"]
        rate = Decimal(given) if given is not None else test.positive_rate
        values = OutcomeValues(
            Decimal(v["true_positive"]), Decimal(v["false_positive"]), Decimal(v["false_negative"]),
            Decimal(v["true_negative"]), rate,
        )  # fmt: skip
        threshold = float(figures["decision"]["threshold"])
    development = vm["development_cost"]
    return Plan(
        task=vm["task"],
        currency=vm["currency"],
        threshold=threshold,
        values=values,
        planned_rate=rate,
        test=test or Confusion(),
        uplift_per_prediction=Decimal(vm["uplift_per_prediction"]),
        value_per_unit_error=Decimal(vm.get("value_per_unit_error") or 0),
        predictions_per_month=Decimal(vm["predictions_per_month"]),
        running_cost_per_month=Decimal(vm["running_cost_per_month"]),
        ramp_up_months=int(vm["ramp_up_months"]),
        development_cost=Decimal(development) if development is not None else None,
        discount_rate_annual=Decimal(vm["discount_rate_annual"]),
        test_bins=(),
        source=source,
    )


def _edges(store: RunStore, best_run_id: str, task: str) -> tuple[list[float], tuple[int, ...]]:
    """Decile edges of the test set's scores (or predictions), and the test set's count in each bin."""
    test = store.load_predictions(best_run_id, "test")
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
        raise UsageError("roi.running_cost_from needs billed spend; choose --source explorer or billing-file")
    import calendar

    from cost.service import fetch_spend

    first, last = outcomes.months[0].month, outcomes.months[-1].month
    year, month = (int(part) for part in last.split("-"))
    window = {
        "start": date.fromisoformat(f"{first}-01"),
        "end": date(year, month, calendar.monthrange(year, month)[1]),
        "granularity": "monthly",
    }
    tagged = settings.model_copy(update={"tags": dict(source.tags), "cost": settings.cost.model_copy(update=window)})
    by_month = fetch_spend(tagged, refresh=refresh, check_tags=False).by_month()
    # A month the bill does not cover yet is said so, not silently free.
    return [
        (by_month[m.month], "billed") if m.month in by_month else (Decimal(0), "billed: none found")
        for m in outcomes.months
    ]


# -- presenting ----------------------------------------------------------------------------------------


def _share(value: Decimal | float | None) -> str | None:
    return None if value is None else f"{float(value):.4f}"


def _interval(value: tuple[float, float, float] | None) -> dict[str, str] | None:
    if value is None:
        return None
    return {"value": f"{value[0]:.4f}", "low": f"{value[1]:.4f}", "high": f"{value[2]:.4f}"}


def _month_json(m: Month) -> dict[str, Any]:
    return {
        "month": m.month,
        "index": m.index,
        "predictions": m.predictions,
        "labelled": m.labelled,
        "share_labelled": _share(m.share_labelled),
        "tp": m.counts.tp,
        "fp": m.counts.fp,
        "fn": m.counts.fn,
        "tn": m.counts.tn,
        "realized_value_labelled": cents_text(
            None if m.realized_value is None else m.realized_value - (m.baseline_value or Decimal(0))
        ),
        "realized_value": cents_text(m.realized_uplift),
        "realized_value_estimated": m.labelled < m.predictions,
        "planned_value": cents_text(m.planned_uplift),
        "running_cost": cents_text(m.running_cost),
        "running_cost_basis": m.running_cost_basis,
        "realized_net": cents_text(m.realized_net),
        "planned_net": cents_text(m.planned_net),
        "psi": f"{m.psi:.4f}",
        "positive_rate": _share(m.positive_rate),
        "precision": _interval(m.precision),
        "recall": _interval(m.recall),
        "gap": None
        if m.gap is None
        else {
            "volume": cents_text(m.gap.volume),
            "base_rate": cents_text(m.gap.base_rate),
            "quality": cents_text(m.gap.quality),
            "total": cents_text(m.gap.total),
        },
    }


def _present(
    settings: Settings,
    planned: _Plan,
    r: Realized,
    outcomes: Outcomes,
    start: date | None,
    end: date | None,
    tracking_uri: str,
    generated: datetime,
) -> dict[str, Any]:
    from tracker import __version__

    plan, to_date, latest = planned.plan, _to_date_json(r), r.months[-1]
    return {
        "schema": REALIZED_SCHEMA,
        "headline": {
            "currency": plan.currency,
            "recommendation": r.recommendation,
            "reasons": list(r.reasons),
            **to_date,
            "drift_status": r.drift_status,
            "latest_psi": f"{r.latest_psi:.4f}",
            "latest_month": latest.month,
            "latest_share_labelled": _share(latest.share_labelled),
        },
        "plan": _plan_json(planned),
        "months": [_month_json(m) for m in r.months],
        "to_date": to_date,
        "drift": _drift_json(plan, r),
        "recommendation": {"decision": r.recommendation, "reasons": list(r.reasons)},
        "input": {
            "outcomes": outcomes.location,
            "files": outcomes.files,
            "window": {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None},
            "rows_outside_window": outcomes.outside_window,
        },
        "provenance": redact_all(
            {
                "experiment": settings.experiment,
                "experiment_id": planned.experiment_id,
                "sweep_run_id": planned.parent_run_id,
                "best_run_id": planned.best.run_id,
                "tracking_uri": tracking_uri,
                "tool": "tracker",
                "version": __version__,
                "generated_at": generated.isoformat(),
                "config": settings.model_dump(mode="json"),
            }
        ),
    }


def _to_date_json(r: Realized) -> dict[str, Any]:
    t = r.to_date
    return {
        "realized_net": cents_text(t.realized_net),
        "planned_net": cents_text(t.planned_net),
        "development_cost": cents_text(t.development_cost),
        "net_after_development": cents_text(t.net_after_development),
        "roi_percent": whole_percent(t.roi),
        "npv": cents_text(t.npv),
        "payback_month": t.payback_month,
        "status": t.status,
    }


def _plan_json(planned: _Plan) -> dict[str, Any]:
    plan = planned.plan
    return {
        "source": plan.source,
        "threshold": None if plan.threshold is None else repr(plan.threshold),
        "planned_positive_rate": _share(plan.planned_rate) if plan.values is not None else None,
        "uplift_per_prediction": cents_text(plan.planned_uplift()),
        "predictions_per_month": str(plan.predictions_per_month),
        "running_cost_per_month": cents_text(plan.running_cost_per_month),
        "ramp_up_months": plan.ramp_up_months,
        "development_cost": cents_text(plan.development_cost),
        "discount_rate_annual": str(plan.discount_rate_annual),
        "monthly_benefit": planned.figures["value_model"]["monthly_benefit"],
    }


def _drift_json(plan: Plan, r: Realized) -> dict[str, Any]:
    classifier = plan.values is not None
    alerts = plan.test.tp + plan.test.fp
    return {
        "psi": f"{r.latest_psi:.4f}",
        "status": r.drift_status,
        "positive_rate": _share(r.positive_rate),
        "planned_positive_rate": _share(plan.planned_rate) if classifier else None,
        "test_recall": _share(plan.test.tpr) if classifier else None,
        "test_precision": _share(Decimal(plan.test.tp) / Decimal(alerts)) if classifier and alerts else None,
    }


def _charts(r: Realized, currency: str) -> dict[str, str]:
    months = [m.month for m in r.months]
    planned, realized = [], []
    plan_total, real_total = Decimal(0), Decimal(0)
    known = True
    for m in r.months:
        plan_total += m.planned_net
        planned.append(plan_total)
        known = known and m.realized_net is not None
        real_total += m.realized_net or Decimal(0)
        realized.append(real_total if known else None)
    return {
        "cumulative": cumulative_chart(months, planned, realized, ylabel=f"cumulative net ({currency})"),
        "psi": psi_chart(months, [m.psi for m in r.months]),
    }


# -- publishing ------------------------------------------------------------------------------------------


def publish_realized(
    report: Report,
    *,
    pdf: Path,
    html: Path,
    json_path: Path,
    store: RunStore,
    paper: str = "a4",
    on_refused: Callable[[str], None] | None = None,
) -> tuple[str, ...]:
    """Write the three files as a set; log the months as metric steps on the sweep's run; tag the model."""
    written = write_files(
        report, pdf=pdf, html=html, json_path=json_path, paper=paper, on_refused=on_refused,
        template_name="realized.html.j2", attachment="realized.json",
    )  # fmt: skip
    if report.parent_run_id is not None:
        store.log_monthly(report.parent_run_id, _series(report.data["months"]), written)
    h = report.data["headline"]
    tags = {"realized_roi_to_date": h["roi_percent"] or "undefined", "drift_status": h["drift_status"]}
    store.value_the_model(report.data["provenance"]["best_run_id"], [], tags)
    return tuple(written)


def _series(months: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """The monthly figures as metric steps (``monthly_<figure>``), step = the month's index in production."""
    keys = ("realized_net", "planned_net", "realized_value", "planned_value", "running_cost", "psi", "predictions")
    out: dict[str, list[tuple[int, float]]] = {f"monthly_{key}": [] for key in keys}
    for m in months:
        for key in keys:
            if m[key] is not None:
                out[f"monthly_{key}"].append((int(m["index"]), float(m[key])))
    return out
