"""The end of a sweep: the summary, the champion registered, the parent run closed."""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from tracker.errors import TrackerError
from tracker.record import Record, layout
from tracker.record.reads import TrialRun
from tracker.record.writes import SweepRecord
from tracker.registry import evaluate_champion, register_champion
from tracker.urls import runs_view
from tuning.objective import BuiltinObjective
from tuning.plots import PLOTS_FOLDER, draw_plots
from tuning.setup import SweepSetup
from tuning.trials import best_trial, cost_of, distinct_values, ranked

__all__ = ["BestTrial", "SweepSummary", "close_sweep", "summarize"]

# How many of the best trials the closing lines' compare link shows.
TOP_LINKED = 5


@dataclass(frozen=True)
class BestTrial:
    number: int
    value: float
    params: dict[str, Any]
    metrics: dict[str, float]
    run_id: str | None
    is_champion: bool = False


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did, for the CLI's closing lines and for tests."""

    experiment: str
    experiment_id: str
    study: str
    parent_run_id: str
    tracking_uri: str
    metric_key: str
    direction: str
    target: int
    counts: dict[str, int]
    best: BestTrial | None
    pareto: tuple[int, ...]
    stop_reason: str
    elapsed_seconds: float
    cost_usd_estimated: Decimal
    # The price of one trial-hour the estimate used (instance price times count).
    hourly_usd: Decimal = Decimal(0)
    interrupted: bool = False
    first_error: str | None = None
    champion_version: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    # The best finished trials' runs, best first, one per distinct value (ties are one trial):
    # what the closing lines link to; and every finished trial's run, best first.
    top_run_ids: tuple[str, ...] = ()
    all_run_ids: tuple[str, ...] = ()
    # The key of the sweep's saved runs-table view (tracker.urls.runs_view).
    runs_view: str | None = None


def summarize(sweep: SweepSetup, *, started: float, stop_reason: str, interrupted: bool) -> SweepSummary:
    """The sweep's figures, once every run is written."""
    sweep.recorder.flush()
    trials = sweep.study.get_trials(deepcopy=False)
    counts = {state.name: 0 for state in TrialState}
    for t in trials:
        if not t.user_attrs.get(layout.ATTR_SURPLUS):
            counts[t.state.name] += 1
    pareto: tuple[int, ...] = ()
    if sweep.multi_objective:
        pareto = tuple(sorted(t.number for t in sweep.study.best_trials))
    errors = [
        t.user_attrs.get(layout.ATTR_ERROR)
        for t in trials
        if t.state == TrialState.FAIL and t.user_attrs.get(layout.ATTR_ERROR)
    ]
    spent = sum((cost_of(t, sweep.hourly_usd) for t in trials if t.state != TrialState.RUNNING), Decimal(0))
    runs = {r.number: r for r in sweep.record.trial_runs(sweep.experiment_id, sweep.parent_run_id)}
    best_first = [t for t in ranked(trials, sweep.direction) if t.number in runs]
    top = [runs[t.number].run_id for t in distinct_values(best_first)]
    return SweepSummary(
        experiment=sweep.settings.experiment,
        experiment_id=sweep.experiment_id,
        study=sweep.study_name,
        parent_run_id=sweep.parent_run_id,
        tracking_uri=sweep.record.tracking_uri,
        hourly_usd=sweep.hourly_usd,
        metric_key=sweep.metric_key,
        direction=sweep.direction,
        target=sweep.target,
        counts={k: v for k, v in counts.items() if v},
        best=_best(sweep, trials, runs),
        pareto=pareto,
        stop_reason=stop_reason,
        elapsed_seconds=time.monotonic() - started,
        cost_usd_estimated=spent,
        interrupted=interrupted,
        first_error=str(errors[0]) if errors else None,
        top_run_ids=tuple(top[:TOP_LINKED]),
        all_run_ids=tuple(runs[t.number].run_id for t in best_first),
    )


def _best(sweep: SweepSetup, trials: list[FrozenTrial], runs: Mapping[int, TrialRun]) -> BestTrial | None:
    best = best_trial(trials, sweep.direction)
    if best is None:
        return None
    run = runs.get(best.number)
    return BestTrial(
        number=best.number,
        value=best.values[0],
        params=dict(best.params),
        metrics=dict(run.metrics) if run else {},
        run_id=run.run_id if run else None,
        is_champion=run.is_champion if run else False,
    )


def close_sweep(sweep: SweepSetup, summary: SweepSummary) -> SweepSummary:
    """Register the champion and end the parent run with the sweep's figures."""
    notes: list[str] = []
    champion = None
    best = summary.best
    objective = sweep.objective
    if best is not None and isinstance(objective, BuiltinObjective) and not summary.interrupted:
        if best.run_id and not best.is_champion and isinstance(sweep.record, SweepRecord):
            champion = _register(sweep, Record.of(sweep.record.client), objective, best, notes)
    status = "KILLED" if summary.interrupted else ("FAILED" if best is None else "FINISHED")
    metrics: dict[str, float] = {
        f"{layout.METRIC_TRIALS_PREFIX}{k.lower()}": float(v) for k, v in summary.counts.items()
    }
    metrics[layout.METRIC_COST_ESTIMATED] = float(summary.cost_usd_estimated)
    metrics[layout.METRIC_ELAPSED] = summary.elapsed_seconds
    if best is not None:
        metrics[layout.METRIC_BEST_PREFIX + sweep.metric_key] = best.value
        metrics[layout.METRIC_BEST_TRIAL] = float(best.number)
    if sweep.settings.plots and isinstance(sweep.record, SweepRecord) and not summary.interrupted:
        _log_plots(sweep, sweep.record, notes)
    params = sorted({name for trial in sweep.study.get_trials(deepcopy=False) for name in trial.params})
    view = runs_view(sweep.parent_run_id, sweep.metric_key, layout.test_twin(sweep.metric_key), sweep.direction, params)
    sweep.record.close_sweep_run(
        sweep.parent_run_id,
        status=status,
        metrics=metrics,
        stop_reason=summary.stop_reason,
        best_run_id=best.run_id if best is not None else None,
        pareto_trials=summary.pareto,
        runs_view=view,
    )
    return dataclasses.replace(summary, champion_version=champion, notes=tuple(notes), runs_view=view[0])


def _log_plots(sweep: SweepSetup, record: SweepRecord, notes: list[str]) -> None:
    """Optuna's plots of the study on the parent run; a plot that fails costs a note, not the sweep."""
    with tempfile.TemporaryDirectory() as folder:
        try:
            if draw_plots(sweep.study, Path(folder)):
                record.client.log_artifacts(sweep.parent_run_id, folder, PLOTS_FOLDER)
        except Exception as exc:  # matplotlib or the importance evaluator on an odd study
            notes.append(f"Optuna's plots were not drawn: {type(exc).__name__}: {str(exc)[:150]}")


def _register(sweep: SweepSetup, record: Record, objective: BuiltinObjective, best: BestTrial, notes: list[str]) -> str:
    """Train the best trial's model again, check it is the same, log its predictions, register it."""
    assert best.run_id is not None
    refit = objective.refit(best.params)
    drift = abs(refit.metrics.get(sweep.metric_key, math.nan) - best.value)
    if not drift <= 1e-9:
        notes.append(f"refit of trial {best.number} gave {sweep.metric_key} off by {drift:.3g}")
    record.artifacts.log_predictions(best.run_id, refit.predictions)
    if objective.task == "regression":
        # The no-model baseline of a regression report predicts the training mean.
        record.writes.set_train_mean(best.run_id, float(objective.split.y_train.mean()))
    champion = register_champion(
        record.writes,
        best.run_id,
        refit.model,
        model_name=sweep.settings.experiment,
        input_example=refit.input_example,
        tags={layout.MODEL_TAG_STUDY: sweep.study_name, layout.MODEL_TAG_TRIAL: str(best.number)},
    )
    record.writes.log_datasets(best.run_id, objective.data_inputs())
    try:
        evaluate_champion(
            record.writes,
            best.run_id,
            champion.model_uri,
            objective.split.x_test,
            objective.split.y_test,
            task=objective.task,
        )
    except TrackerError as exc:  # the champion stands; only MLflow's evaluation of it is missing
        notes.append(str(exc))
    return champion.version
