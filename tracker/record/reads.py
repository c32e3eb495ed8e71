"""Reading the record: frozen snapshots of sweeps and trials, for ``tracker runs``, reports and cost estimates.

Reads return :class:`SweepRun` and :class:`TrialRun` snapshots, never live MLflow ``Run``
objects, so no caller reads a tag by its key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from tracker.errors import UsageError
from tracker.record import layout

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.tracking import MlflowClient

__all__ = ["RunReader", "SweepRun", "TrialRun"]


@dataclass(frozen=True)
class TrialRun:
    """A snapshot of one trial's run, as ``tracker runs`` and the report read it."""

    run_id: str
    number: int
    status: str
    state: str
    start_time: int | None
    end_time: int | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    # The user's cost-allocation tags (our own tags are fields, not entries here).
    tags: dict[str, str] = field(default_factory=dict)
    experiment_id: str = ""
    parent_run_id: str | None = None
    is_champion: bool = False
    # The training target's mean, which a regression's no-model baseline predicts.
    train_mean: float | None = None

    @property
    def duration_seconds(self) -> float | None:
        """How long the trial ran: its own measurement, else the run's start to its end."""
        value = self.metrics.get(layout.METRIC_DURATION)
        if value is not None:
            return value
        if self.start_time is not None and self.end_time is not None:
            return (self.end_time - self.start_time) / 1000
        return None

    @property
    def cost_estimated(self) -> float:
        """The trial's estimated cost in USD, from its duration; 0 when it logged none."""
        return self.metrics.get(layout.METRIC_COST_ESTIMATED, 0.0)


@dataclass(frozen=True)
class SweepRun:
    """A snapshot of a sweep's parent run: what was optimised, how it ended, the best trial."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int | None
    end_time: int | None
    study: str | None
    metric_key: str | None
    direction: str
    task: str | None
    best_run_id: str | None
    stop_reason: str | None
    pareto_trials: tuple[int, ...]
    runs_view: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


class RunReader:
    """Queries of the record, behind one injected :class:`MlflowClient`; it writes nothing."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    @property
    def tracking_uri(self) -> str:
        """The store's URI, as the client was opened with it."""
        return str(self.client.tracking_uri)

    def experiment_id(self, name: str) -> str:
        """The id of experiment ``name``; a missing one is the user's to fix."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            names = sorted(e.name for e in self.client.search_experiments(max_results=50))
            there = f"it holds {', '.join(repr(n) for n in names[:10])}" if names else "it holds none"
            raise UsageError(
                f"no experiment {name!r} in {self.tracking_uri} ({there}); run `tracker sweep` first or set "
                "`experiment`"
            )
        return str(experiment.experiment_id)

    def sweep_runs(self, experiment_id: str) -> list[SweepRun]:
        """The experiment's sweep (parent) runs, newest first."""
        out: list[SweepRun] = []
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [experiment_id],
                filter_string=f"tags.`{layout.TAG_ROLE}` = '{layout.ROLE_SWEEP}'",
                order_by=["attributes.start_time DESC"],
                max_results=1000,
                page_token=token,
            )
            out.extend(_sweep_run(run) for run in page)
            token = page.token
            if not token:
                return out

    def find_sweep_run(self, experiment_id: str, study: str) -> str | None:
        """The first parent run of study ``study``, or None.

        The study is matched here, not in MLflow's filter: its filter strings have no escape
        for a quote, so a name like ``it's`` would never be found and each resume would
        start a new parent run.
        """
        found = [run for run in self.sweep_runs(experiment_id) if run.study == study]
        return min(found, key=lambda run: run.start_time or 0).run_id if found else None

    def latest_sweep_run(self, experiment_id: str) -> SweepRun:
        """The newest sweep of the experiment; none is the user's to fix (run a sweep)."""
        runs = self.sweep_runs(experiment_id)
        if not runs:
            raise UsageError("the experiment has no sweep yet; run `tracker sweep` first")
        return runs[0]

    def run(self, run_id: str) -> SweepRun | TrialRun:
        """The snapshot of any run of ours: a sweep's parent run or a trial's run."""
        try:
            run = self.client.get_run(run_id)
        except MlflowException as exc:
            raise UsageError(f"no run {run_id!r} in {self.tracking_uri}: check the run ID") from exc
        return _sweep_run(run) if run.data.tags.get(layout.TAG_ROLE) == layout.ROLE_SWEEP else _trial_run(run)

    def sweep_run(self, run_id: str) -> SweepRun:
        """The snapshot of a sweep's parent run; any other run is the user's mistake."""
        run = self.run(run_id)
        if not isinstance(run, SweepRun):
            raise UsageError(f"run {run_id} is not a sweep's parent run")
        return run

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[TrialRun]:
        """Every trial run of one sweep, each a frozen snapshot, by trial number."""
        query = f"tags.`{layout.TAG_PARENT}` = '{parent_run_id}'"
        if status:
            query += f" and attributes.status = '{status}'"
        out: list[TrialRun] = []
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [experiment_id],
                filter_string=query,
                max_results=5000,
                page_token=token,
                run_view_type=ViewType.ACTIVE_ONLY,
            )
            # The realized report's child run shares the parent; it is not a trial.
            out.extend(_trial_run(run) for run in page if run.data.tags.get(layout.TAG_ROLE) != layout.ROLE_REALIZED)
            token = page.token
            if not token:
                break
        out.sort(key=lambda r: r.number)
        return out

    def champion_run_id(self, model_name: str, alias: str = layout.CHAMPION_ALIAS) -> str | None:
        """The run of the version that ``model_name@alias`` points at, or None."""
        try:
            version = self.client.get_model_version_by_alias(model_name, alias)
        except MlflowException:
            return None
        return str(version.run_id) if version.run_id else None


def _user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(layout.OWN_TAG_PREFIXES)}


def _trial_run(run: Run) -> TrialRun:
    tags = dict(run.data.tags)
    mean = tags.get(layout.TAG_TRAIN_MEAN)
    return TrialRun(
        run_id=run.info.run_id,
        number=int(tags.get(layout.TAG_TRIAL, "-1")),
        status=run.info.status,
        state=tags.get(layout.TAG_STATE, run.info.status),
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=_user_tags(tags),
        experiment_id=str(run.info.experiment_id),
        parent_run_id=tags.get(layout.TAG_PARENT),
        is_champion=tags.get(layout.TAG_CHAMPION) == "true",
        train_mean=float(mean) if mean is not None else None,
    )


def _sweep_run(run: Run) -> SweepRun:
    tags = dict(run.data.tags)
    pareto = tuple(int(n) for n in tags.get(layout.TAG_PARETO, "").split(",") if n.strip().isdigit())
    return SweepRun(
        run_id=run.info.run_id,
        experiment_id=str(run.info.experiment_id),
        name=run.info.run_name or "",
        status=run.info.status,
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        study=tags.get(layout.TAG_STUDY),
        metric_key=tags.get(layout.TAG_METRIC),
        direction=tags.get(layout.TAG_DIRECTION, "maximize"),
        task=tags.get(layout.TAG_TASK),
        best_run_id=tags.get(layout.TAG_BEST_RUN),
        runs_view=tags.get(layout.TAG_RUNS_VIEW),
        stop_reason=tags.get(layout.TAG_STOP_REASON),
        pareto_trials=pareto,
        params=dict(run.data.params),
        tags=_user_tags(tags),
    )
