"""Gathering a report's evidence: the runs, the champion's predictions, the baseline, the spend.

Everything the report reads is read here, once, into one frozen :class:`Evidence`;
``reports.analysis`` computes from it without touching a store or a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tracker.errors import TrackerError, UsageError
from tracker.record.layout import CHAMPION_ALIAS, val_metric
from tracker.record.reads import RunReader, SweepRun, TrialRun

if TYPE_CHECKING:
    import pandas as pd

    from cost.table import SpendTable
    from tracker.config import Settings
    from tracker.record import Record

__all__ = ["Evidence", "RunningCost", "SpendWindow", "gather", "resolve_runs"]


@dataclass(frozen=True)
class SpendWindow:
    """The dates the development spend was read for, inclusive, and where they came from."""

    start: date | None
    end: date | None
    chosen_by: str  # "configured" or "the sweep's dates"
    runs_first: date | None
    runs_last: date | None

    @property
    def overlaps_runs(self) -> bool:
        if self.runs_first is None or self.runs_last is None:
            return True
        starts_after = self.start is not None and self.start > self.runs_last
        ends_before = self.end is not None and self.end < self.runs_first
        return not (starts_after or ends_before)


@dataclass(frozen=True)
class RunningCost:
    """The running cost measured from the bill: the average of whole months in the window."""

    per_month: Decimal
    months: tuple[str, ...]
    tags: dict[str, str]


@dataclass(frozen=True)
class Evidence:
    """Everything read for a report."""

    parent: SweepRun | None
    best: TrialRun
    experiment_id: str
    trials: tuple[TrialRun, ...]
    metric_key: str
    direction: str
    task: str
    test: pd.DataFrame
    val: pd.DataFrame
    # The baseline's test predictions when it is another model; None for a baseline by kind.
    baseline: pd.DataFrame | None
    spend: SpendTable
    window: SpendWindow
    running: RunningCost | None
    importances: dict[str, str]
    tracking_uri: str


def gather(
    record: Record,
    settings: Settings,
    run_id: str | None,
    spend: SpendTable | None,
    *,
    refresh: bool,
    check_tags: bool,
    resolved: tuple[SweepRun | None, TrialRun, str] | None = None,
) -> Evidence:
    """Everything the report needs, read once (``resolved``: :func:`resolve_runs`' answer, if known)."""
    reads = record.reads
    parent, best, experiment_id = resolved or resolve_runs(reads, settings, run_id)
    trials = tuple(reads.trial_runs(experiment_id, parent.run_id)) if parent is not None else ()
    metric_key = (parent.metric_key if parent is not None else None) or _guess_metric(best.metrics)
    if metric_key not in best.metrics:
        raise TrackerError(
            f"the objective metric {metric_key} is missing from run {best.run_id}; was the sweep interrupted?"
        )
    test = record.artifacts.load_predictions(best.run_id, "test")
    val = record.artifacts.load_predictions(best.run_id, "val")
    if test is None or val is None:
        raise TrackerError(
            f"run {best.run_id} has no predictions/test.parquet and predictions/val.parquet; the report needs the "
            "champion of a built-in trainer (a function objective logs no predictions)"
        )
    binary = "y_score" in test.columns
    task = "classification" if binary else ((parent.task if parent is not None else None) or "regression")
    if task == "classification" and not binary:
        raise UsageError("the value model needs a binary classifier or a regression; this model has more classes")
    window = _window(settings, trials or (best,))
    if spend is None:
        from cost.service import spend_filter, spend_for

        dated = spend_filter(settings, window=(window.start, window.end))
        spend = spend_for(settings, dated, runs=reads, refresh=refresh, check_tags=check_tags)
    if spend.rows and spend.currency != settings.roi.currency:
        raise UsageError(
            f"roi.currency is {settings.roi.currency} but the spend is in {spend.currency}; "
            f"set roi.currency to {spend.currency} to match, or read a bill kept in {settings.roi.currency}"
        )
    running = _running_cost(settings, window, refresh=refresh) if settings.roi.running_cost_from else None
    return Evidence(
        parent=parent,
        best=best,
        experiment_id=experiment_id,
        trials=trials,
        metric_key=metric_key,
        direction=parent.direction if parent is not None else "maximize",
        task=task,
        test=test,
        val=val,
        baseline=_baseline_predictions(record, settings, test),
        spend=spend,
        window=window,
        running=running,
        importances=_importances(settings, parent.study if parent is not None else None),
        tracking_uri=record.tracking_uri,
    )


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _window(settings: Settings, runs: tuple[TrialRun, ...]) -> SpendWindow:
    """The configured dates; without any, whole UTC days from the first trial's start to the last one's end."""
    starts = [r.start_time for r in runs if r.start_time is not None]
    ends = [r.end_time or r.start_time for r in runs if (r.end_time or r.start_time) is not None]
    first = _day(min(starts)) if starts else None
    last = _day(max(e for e in ends if e is not None)) if ends else None
    c = settings.cost
    if c.start is None and c.end is None and first is not None:
        return SpendWindow(first, last, "the sweep's dates", first, last)
    return SpendWindow(c.start, c.end, "configured", first, last)


def _running_cost(settings: Settings, window: SpendWindow, *, refresh: bool) -> RunningCost:
    """Average monthly billed spend for ``roi.running_cost_from``'s tags, over the window's whole months."""
    from cost.service import spend_filter, spend_for

    source = settings.roi.running_cost_from
    assert source is not None
    if settings.cost.source == "estimate":
        raise UsageError(
            "roi.running_cost_from needs billed spend; choose `cost.source` explorer or billing-file, "
            "or give roi.running_cost_per_month"
        )
    if window.start is None or window.end is None:
        raise UsageError("roi.running_cost_from needs a cost window; set cost.start and cost.end to whole months")
    tagged = spend_filter(settings, tags=source.tags, window=(window.start, window.end))
    by_month = spend_for(settings, tagged, refresh=refresh, check_tags=False).by_month()
    whole = _whole_months(window.start, window.end)
    if not whole:
        raise UsageError(
            f"roi.running_cost_from: the cost window {window.start} to {window.end} holds no whole month; "
            "set cost.start and cost.end to cover whole months"
        )
    # Cost Explorer answers a month with no matching line as 0.00: no line, as far as the bill goes.
    if not any(by_month.get(m, Decimal(0)) != 0 for m in whole):
        tags = " and ".join(f"{k}={v}" for k, v in sorted(source.tags.items()))
        raise UsageError(
            f"roi.running_cost_from: no billed line tagged {tags} in {', '.join(whole)} (window {window.start} to "
            f"{window.end}); check the tags and the window, or give roi.running_cost_per_month instead"
        )
    total = sum((by_month.get(m, Decimal(0)) for m in whole), Decimal(0))
    return RunningCost(total / Decimal(len(whole)), tuple(whole), dict(source.tags))


def _whole_months(start: date, end: date) -> list[str]:
    """``YYYY-MM`` of each calendar month that lies wholly within [start, end]."""
    import calendar

    months = []
    year, month = start.year, start.month
    while date(year, month, 1) <= end:
        last = date(year, month, calendar.monthrange(year, month)[1])
        if date(year, month, 1) >= start and last <= end:
            months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


# -- the runs ------------------------------------------------------------------------------------


def resolve_runs(store: RunReader, settings: Settings, run_id: str | None) -> tuple[SweepRun | None, TrialRun, str]:
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


def _best_of(store: RunReader, parent: SweepRun) -> TrialRun:
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
    for key in map(val_metric, ("f1", "roc_auc", "rmse")):
        if key in metrics:
            return key
    raise TrackerError("the run records no objective metric (val_<metric>); was it made by `tracker sweep`?")


def _baseline_predictions(record: Record, settings: Settings, test: pd.DataFrame) -> pd.DataFrame | None:
    """The baseline's test predictions when it is another run or model; None for a baseline by kind."""
    baseline = settings.roi.baseline
    if not isinstance(baseline, dict) or "act_on_share" in baseline:
        return None
    kind, value = next(iter(baseline.items()))
    if kind == "model":
        name, _, alias = value.partition("@")
        run_id = record.reads.champion_run_id(name, alias or CHAMPION_ALIAS)
        if run_id is None:
            raise UsageError(f"roi.baseline: no registered model {value!r} (NAME@alias) in {record.tracking_uri}")
    else:
        run_id = value
        record.reads.run(run_id)  # a clear error when there is no such run
    frame = record.artifacts.load_predictions(run_id, "test")
    if frame is None:
        raise UsageError(f"roi.baseline: run {run_id} has no predictions/test.parquet")
    if len(frame) != len(test) or not (frame["y_true"].to_numpy() == test["y_true"].to_numpy()).all():
        raise UsageError(f"roi.baseline: run {run_id} was tested on other data; compare models on the same split")
    return frame


def _importances(settings: Settings, study_name: str | None) -> dict[str, str]:
    """fANOVA importances from the Optuna study, when its storage is reachable."""
    if not study_name:
        return {}
    try:
        import warnings

        import optuna

        from tuning.storage import open_storage

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = optuna.load_study(study_name=study_name, storage=open_storage(settings.storage, create=False))
            if len(study.directions) != 1:
                return {}
            complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
            if len(complete) < 3:
                return {}
            importances = optuna.importance.get_param_importances(study)
    except Exception:  # a missing storage only leaves this table out
        return {}
    return {name: f"{value:.3f}" for name, value in importances.items()}
