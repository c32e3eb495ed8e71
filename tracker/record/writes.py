"""Writing the sweep's record: its parent run, one run per trial, the champion's marks.

A trial's run is written in three round trips (create, one batch, terminate), which is
what keeps the tracking overhead per trial small on an SQLite store. What a trial's end
carries is one typed value, :class:`TrialEnd`, whether it is written here directly or
sent to the writer process first.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException

from tracker.errors import UsageError, clip
from tracker.record import layout
from tracker.record.reads import RunReader
from tracker.urls import RUNS_VIEW_TAG_PREFIX

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from tracker.record.reads import TrialRun

__all__ = [
    "DataInput",
    "RunRecord",
    "SweepRecord",
    "TrialEnd",
    "TrialStart",
    "clip_tag",
    "finite_metrics",
    "status_for_state",
]

# MLflow's limit on a tag's value.
_MAX_TAG = 5000
# log_batch takes at most 1,000 metrics a call.
METRICS_PER_BATCH = 1000


@dataclass(frozen=True)
class TrialStart:
    """What opens a trial's run: where it goes and whose it is."""

    experiment_id: str
    parent_run_id: str
    number: int
    start_time: float
    tags: Mapping[str, str] = field(default_factory=dict)
    study: str | None = None
    worker: str | None = None
    recovered: str | None = None


@dataclass(frozen=True)
class TrialEnd:
    """What closes a trial's run: its end state, parameters, final metrics and intermediate steps."""

    status: str
    state: str
    end_time: float
    params: Mapping[str, object] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    steps: Mapping[str, Sequence[tuple[int, float]]] = field(default_factory=dict)
    error: str | None = None
    # What the objective itself logged (tuning.objective_log) and its trial's user attributes.
    tags: Mapping[str, str] = field(default_factory=dict)
    logged_metrics: Sequence[tuple[str, float, int, int]] = ()  # key, value, step, time in ms
    artifacts: str | None = None  # a folder of files to upload as the run's artifacts, then remove


@dataclass(frozen=True)
class DataInput:
    """One dataset a run used, in MLflow's terms, with its context (training, validation, test)."""

    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None
    profile: str | None
    context: str


class RunRecord(Protocol):
    """What a sweep writes through and reads back. :class:`SweepRecord` is the MLflow one."""

    @property
    def tracking_uri(self) -> str: ...

    def ensure_experiment(self, name: str) -> str: ...

    def find_sweep_run(self, experiment_id: str, study: str) -> str | None: ...

    def resume_sweep_run(self, run_id: str) -> None: ...

    def create_sweep_run(
        self,
        experiment_id: str,
        study: str,
        *,
        params: Mapping[str, object],
        tags: Mapping[str, str],
        metric_key: str = "",
        direction: str = "maximize",
        task: str = "custom",
        note: str = "",
        source: Mapping[str, str] | None = None,
    ) -> str: ...

    def log_datasets(self, run_id: str, inputs: Sequence[DataInput]) -> None: ...

    def close_sweep_run(
        self,
        run_id: str,
        *,
        status: str,
        metrics: Mapping[str, float],
        stop_reason: str = "",
        best_run_id: str | None = None,
        pareto_trials: Sequence[int] = (),
        runs_view: tuple[str, str] | None = None,
    ) -> None: ...

    def start_trial_run(self, start: TrialStart) -> str: ...

    def finish_trial_run(self, run_id: str, end: TrialEnd) -> None: ...

    def mark_run(self, run_id: str, *, status: str, state: str, error: str) -> None: ...

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[TrialRun]: ...


def ms(seconds: float) -> int:
    """Seconds since the epoch as MLflow's milliseconds."""
    return int(seconds * 1000)


def clip_tag(text: str) -> str:
    """A tag value within MLflow's limit, marked where it was cut."""
    return clip(text, _MAX_TAG)


def finite_metrics(values: Mapping[str, float | None]) -> dict[str, float]:
    """The metrics that have a finite value: MLflow stores NaN but the UI sorts it oddly."""
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


class SweepRecord:
    """The sweep's writes to the MLflow record, behind one injected :class:`MlflowClient`."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client
        self._reader = RunReader(client)

    @property
    def tracking_uri(self) -> str:
        """The store's URI, as the client was opened with it."""
        return str(self.client.tracking_uri)

    def ensure_experiment(self, name: str) -> str:
        """The experiment's id, created (in the model-training view) when it does not exist."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                raise UsageError(
                    f"experiment {name!r} is deleted in {self.tracking_uri}; restore it in the MLflow UI "
                    "or choose another `experiment`"
                )
            return str(experiment.experiment_id)
        try:
            return str(self.client.create_experiment(name, tags={layout.TAG_EXPERIMENT_KIND: layout.EXPERIMENT_KIND}))
        except MlflowException:
            # Another worker created it first; theirs is ours.
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return str(experiment.experiment_id)

    def find_sweep_run(self, experiment_id: str, study: str) -> str | None:
        """The first parent run of study ``study``, or None (see :meth:`RunReader.find_sweep_run`)."""
        return self._reader.find_sweep_run(experiment_id, study)

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[TrialRun]:
        """The sweep's trial runs as written so far, by trial number."""
        return self._reader.trial_runs(experiment_id, parent_run_id, status=status)

    def resume_sweep_run(self, run_id: str) -> None:
        """A resumed sweep's parent run is running again."""
        self.client.update_run(run_id, status="RUNNING")

    def create_sweep_run(
        self,
        experiment_id: str,
        study: str,
        *,
        params: Mapping[str, object],
        tags: Mapping[str, str],
        metric_key: str = "",
        direction: str = "maximize",
        task: str = "custom",
        note: str = "",
        source: Mapping[str, str] | None = None,
    ) -> str:
        """The parent run of study ``study``; ``tags`` are the cost-allocation tags.

        ``source`` (:func:`tracker.record.source.source_tags` of the config) is the run's
        source in the UI: the file, the git commit of its folder, the user.
        """
        own = {
            layout.TAG_ROLE: layout.ROLE_SWEEP,
            layout.TAG_STUDY: study,
            layout.TAG_DIRECTION: direction,
            layout.TAG_TASK: task,
        }
        own.update(source or {})
        if metric_key:
            own[layout.TAG_METRIC] = metric_key
        if note:
            own[layout.TAG_NOTE] = note
        run = self.client.create_run(experiment_id, run_name=study, tags={**tags, **own})
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items() if v is not None])
        return str(run.info.run_id)

    def close_sweep_run(
        self,
        run_id: str,
        *,
        status: str,
        metrics: Mapping[str, float],
        stop_reason: str = "",
        best_run_id: str | None = None,
        pareto_trials: Sequence[int] = (),
        runs_view: tuple[str, str] | None = None,
    ) -> None:
        """End the parent run with the sweep's figures, why it stopped and which trial won.

        ``runs_view`` (a key and its state, :func:`tracker.urls.runs_view`) is saved on the
        experiment, where MLflow's runs page finds a shared view, and its key on the run.
        """
        tags = {layout.TAG_STOP_REASON: stop_reason}
        if runs_view is not None:
            key, state = runs_view
            experiment_id = self.client.get_run(run_id).info.experiment_id
            self.client.set_experiment_tag(experiment_id, RUNS_VIEW_TAG_PREFIX + key, state)
            tags[layout.TAG_RUNS_VIEW] = key
        if best_run_id:
            tags[layout.TAG_BEST_RUN] = best_run_id
        if pareto_trials:
            tags[layout.TAG_PARETO] = ",".join(map(str, pareto_trials))
        now = ms(time.time())
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in finite_metrics(metrics).items()],
            tags=[RunTag(k, clip_tag(v)) for k, v in tags.items()],
        )
        self.client.set_terminated(run_id, status=status, end_time=now)

    def start_trial_run(self, start: TrialStart) -> str:
        """Open a trial's run, nested under the sweep's, marked RUNNING until it ends."""
        own = {
            layout.TAG_PARENT: start.parent_run_id,
            layout.TAG_ROLE: layout.ROLE_TRIAL,
            layout.TAG_TRIAL: str(start.number),
            layout.TAG_STATE: "RUNNING",
        }
        optional = (
            (layout.TAG_STUDY, start.study),
            (layout.TAG_WORKER, start.worker),
            (layout.TAG_RECOVERED, start.recovered),
        )
        own.update({key: value for key, value in optional if value is not None})
        run = self.client.create_run(
            start.experiment_id,
            start_time=ms(start.start_time),
            run_name=layout.trial_run_name(start.number),
            tags={**start.tags, **own},
        )
        return str(run.info.run_id)

    def finish_trial_run(self, run_id: str, end: TrialEnd) -> None:
        """Params, final metrics, intermediate steps and the end state in one batch, then the end."""
        stamp = ms(end.end_time)
        own = {k for k in end.metrics} | set(end.steps)
        batch = [
            *(Metric(k, v, t, s) for k, v, s, t in end.logged_metrics if k not in own and math.isfinite(v)),
            *_metric_batch(end.metrics, end.steps, stamp),
        ]
        tags = [RunTag(k, clip_tag(v)) for k, v in end.tags.items()]
        tags.append(RunTag(layout.TAG_STATE, end.state))
        if end.error:
            tags.append(RunTag(layout.TAG_ERROR, clip_tag(end.error)))
        params = [Param(k, str(v)) for k, v in end.params.items()]
        if end.artifacts is not None:
            self._upload(run_id, end.artifacts)
        for start in range(0, max(len(batch), 1), METRICS_PER_BATCH):
            first = start == 0
            self.client.log_batch(
                run_id,
                metrics=batch[start : start + METRICS_PER_BATCH],
                params=params if first else (),
                tags=tags if first else (),
            )
        self.client.set_terminated(run_id, status=end.status, end_time=stamp)

    def _upload(self, run_id: str, folder: str) -> None:
        import shutil

        try:
            self.client.log_artifacts(run_id, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def mark_run(self, run_id: str, *, status: str, state: str, error: str) -> None:
        """End a run that its own process could not end (it was killed)."""
        self.client.log_batch(run_id, tags=[RunTag(layout.TAG_STATE, state), RunTag(layout.TAG_ERROR, clip_tag(error))])
        self.client.set_terminated(run_id, status=status)

    def set_train_mean(self, run_id: str, mean: float) -> None:
        """Keep the training target's mean on a regression trial's run, for its no-model baseline."""
        self.client.set_tag(run_id, layout.TAG_TRAIN_MEAN, repr(float(mean)))

    def mark_champion(self, run_id: str) -> None:
        """Tag the champion's run, and give it its sweep's source (the config file and commit)."""
        run = self.client.get_run(run_id)
        tags = {layout.TAG_CHAMPION: "true"}
        parent_id = run.data.tags.get(layout.TAG_PARENT)
        if parent_id:
            parent = self.client.get_run(parent_id).data.tags
            source = (layout.TAG_SOURCE_NAME, layout.TAG_SOURCE_TYPE, layout.TAG_GIT_COMMIT)
            tags.update({k: v for k, v in parent.items() if k in source})
        self.client.log_batch(run_id, tags=[RunTag(k, v) for k, v in tags.items()])

    def log_datasets(self, run_id: str, inputs: Sequence[DataInput]) -> None:
        """The data a run used, as MLflow dataset inputs (the UI's Dataset column and lineage)."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        if not inputs:
            return
        self.client.log_inputs(
            run_id,
            datasets=[
                DatasetInput(
                    Dataset(i.name, i.digest, i.source_type, i.source, i.schema, i.profile),
                    [InputTag(layout.TAG_DATA_CONTEXT, i.context)],
                )
                for i in inputs
            ],
        )


def _metric_batch(
    metrics: Mapping[str, float], steps: Mapping[str, Sequence[tuple[int, float]]], stamp: int
) -> list[Metric]:
    batch: list[Metric] = []
    last_step: dict[str, int] = {}
    for key, points in steps.items():
        for step, value in points:
            if math.isfinite(value):
                batch.append(Metric(key, float(value), stamp, int(step)))
                last_step[key] = max(last_step.get(key, -1), int(step))
    for key, value in finite_metrics(metrics).items():
        # The final value goes one step past the intermediate ones, so it is the one shown.
        batch.append(Metric(key, value, stamp, last_step.get(key, -1) + 1))
    return batch


def status_for_state(state: str) -> str:
    """Optuna trial state -> MLflow run status."""
    return {
        "COMPLETE": RunStatus.to_string(RunStatus.FINISHED),
        "PRUNED": RunStatus.to_string(RunStatus.KILLED),
        "FAIL": RunStatus.to_string(RunStatus.FAILED),
    }.get(state, RunStatus.to_string(RunStatus.FAILED))
