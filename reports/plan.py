"""The plan a realized report compares against: the ROI report logged on the sweep, read back as
typed figures, or the same figures computed from the config when none was logged (the ROI
report's gathering and analysis only: no chart, no PDF)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from reports import figures as f
from reports.gather import resolve_runs
from reports.plan_vs_actual import Plan
from tracker.errors import UsageError
from tracker.record.reads import TrialRun
from tracker.value import Confusion, OutcomeValues

if TYPE_CHECKING:
    from tracker.config import Settings
    from tracker.record import Record

__all__ = ["LoadedPlan", "load_plan", "plan_of"]


@dataclass(frozen=True)
class LoadedPlan:
    """The plan and what it came from: the ROI figures, the sweep's run, the model's run."""

    plan: Plan
    figures: f.RoiFigures
    parent_run_id: str | None
    best: TrialRun
    experiment_id: str


def load_plan(record: Record, settings: Settings, run_id: str | None, *, refresh: bool, check_tags: bool) -> LoadedPlan:
    """The plan: the ROI report logged on the sweep's parent run, or the same figures computed from the config.

    Computing them runs the ROI report's gathering and analysis only: no chart, no PDF.
    """
    parent, best, experiment_id = resolve_runs(record.reads, settings, run_id)
    logged = record.artifacts.load_report_figures(parent.run_id) if parent is not None else None
    if logged is not None and parent is not None:
        data = json.loads(logged)
        if data.get("schema") != f.REPORT_SCHEMA:
            raise UsageError(f"the report logged on the sweep is {data.get('schema')!r}; rerun tracker report first")
        figures = f.RoiFigures.from_json(data)
        source = f"the ROI report logged on run {parent.run_id}"
    else:
        from reports.analysis import analyse
        from reports.gather import gather
        from reports.roi_report import roi_figures

        resolved = (parent, best, experiment_id)
        evidence = gather(record, settings, run_id, None, refresh=refresh, check_tags=check_tags, resolved=resolved)
        figures = roi_figures(evidence, analyse(evidence, settings), settings)
        source = "computed from the config, as tracker report would (no report was logged on the sweep)"
    return LoadedPlan(plan_of(figures, source), figures, parent.run_id if parent else None, best, experiment_id)


def plan_of(figures: f.RoiFigures, source: str) -> Plan:
    """What the ROI report promised, per month, from its figures."""
    vm = figures.value_model
    baseline = figures.baseline
    share = Decimal(0)
    if baseline is None:  # a roi-report/2 plan: valued against no model
        if vm.baseline != "no model":
            raise UsageError(f"the plan's baseline is {vm.baseline}; tracker realized cannot observe another model")
    elif baseline.kind == "model" and (vm.is_classifier or baseline.words != "the training mean"):
        raise UsageError(
            f"the plan's baseline is {baseline.words}; tracker realized sees only this model's decisions, "
            "so it compares against no_action, act_on_all or act_on_share"
        )
    elif baseline.kind in ("act_on_all", "act_on_share"):
        share = Decimal(1) if baseline.kind == "act_on_all" else (baseline.share or Decimal(0))
    values = test = threshold = None
    rate = Decimal(0)
    if vm.is_classifier and vm.value_per_outcome and figures.confusion_matrix and figures.decision:
        v, cells = vm.value_per_outcome, figures.confusion_matrix.cells
        test = Confusion(cells.tp.count, cells.fp.count, cells.fn.count, cells.tn.count)
        rate = vm.production_positive_rate if vm.production_positive_rate is not None else test.positive_rate
        values = OutcomeValues(v.true_positive, v.false_positive, v.false_negative, v.true_negative, rate)
        threshold = figures.decision.threshold
    return Plan(
        task=vm.task,
        currency=vm.currency,
        threshold=threshold,
        values=values,
        planned_rate=rate,
        test=test or Confusion(),
        uplift_per_prediction=vm.uplift_per_prediction,
        value_per_unit_error=vm.value_per_unit_error or Decimal(0),
        predictions_per_month=vm.predictions_per_month,
        running_cost_per_month=vm.running_cost_per_month,
        ramp_up_months=vm.ramp_up_months,
        development_cost=vm.development_cost,
        discount_rate_annual=vm.discount_rate_annual,
        test_bins=(),
        source=source,
        baseline_share=share,
    )
