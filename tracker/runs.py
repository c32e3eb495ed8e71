"""The MLflow record: the only module that knows our tag names, run roles and artifact paths.

Layout (see the design): one experiment per project, opened by the UI in its
model-training view; one parent run per sweep; one nested run per trial named
``trial-<number>``; metrics ``val_<m>``/``test_<m>``; the champion model registered
with alias ``champion`` and its predictions under ``predictions/``.

Reads return frozen snapshots (:class:`SweepRun`, :class:`TrialRun`), never live MLflow
``Run`` objects, so no caller reads a tag by its key. :class:`RunRecord` is the part of
:class:`RunStore` that a sweep writes through; a benchmark or test double satisfies it.

A trial's run is written in three round trips (create, one batch, terminate), which is
what keeps the tracking overhead per trial small on an SQLite store.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tracker.errors import TrackerError, UsageError

# MLflow hints, whenever it infers a schema with an integer column (a class label, a count),
# that such a column cannot hold missing values later. Our datasets and champions are logged
# from data already read whole, so the hint (a screen of text) says nothing a user can act on.
warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer", category=UserWarning)

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run

__all__ = [
    "CHAMPION_ALIAS",
    "DataInput",
    "RunRecord",
    "RunStore",
    "SweepRun",
    "TrialRun",
    "source_tags",
    "status_for_state",
]

# Tag keys of our own; the cost-allocation tags are written under their own names.
_TAG_ROLE = "tracker.role"
_TAG_STUDY = "tracker.study"
_TAG_TRIAL = "tracker.trial_number"
_TAG_STATE = "tracker.state"
_TAG_WORKER = "tracker.worker"
_TAG_ERROR = "tracker.error"
_TAG_METRIC = "tracker.metric"
_TAG_DIRECTION = "tracker.direction"
_TAG_TASK = "tracker.task"
_TAG_CHAMPION = "tracker.champion"
_TAG_TRAIN_MEAN = "tracker.train_mean"
_TAG_BEST_RUN = "tracker.best_run_id"
_TAG_STOP_REASON = "tracker.stop_reason"
_TAG_PARETO = "tracker.pareto_trials"
_TAG_RECOVERED = "tracker.recovered"
_TAG_PARENT = "mlflow.parentRunId"
_TAG_NOTE = "mlflow.note.content"
_TAG_SOURCE_NAME = "mlflow.source.name"
_TAG_SOURCE_TYPE = "mlflow.source.type"
_TAG_GIT_COMMIT = "mlflow.source.git.commit"
_SOURCE_TAGS = frozenset({_TAG_SOURCE_NAME, _TAG_SOURCE_TYPE, _TAG_GIT_COMMIT})
_TAG_DATA_CONTEXT = "mlflow.data.context"
_ROLE_SWEEP = "sweep"
_ROLE_TRIAL = "trial"
# Tells the MLflow 3 UI to open the experiment in its model-training (runs table) view.
_EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
_EXPERIMENT_KIND = "custom_model_development"
_MAX_TAG = 5000
# The Model Registry alias of a sweep's best model.
CHAMPION_ALIAS = "champion"
_PREDICTIONS = "predictions"
_REPORTS = "reports"
_REALIZED = "realized"


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
        value = self.metrics.get("duration_seconds")
        if value is not None:
            return value
        if self.start_time is not None and self.end_time is not None:
            return (self.end_time - self.start_time) / 1000
        return None


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
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


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


def source_tags(source_file: str | None) -> dict[str, str]:
    """MLflow's source tags for a run made from ``source_file``: its path, and the git commit when in a repository."""
    if source_file is None:
        return {}
    path = Path(source_file).resolve()
    tags = {_TAG_SOURCE_NAME: str(path), _TAG_SOURCE_TYPE: "LOCAL"}
    commit = _git_commit(path.parent)
    if commit is not None:
        tags[_TAG_GIT_COMMIT] = commit
    return tags


def _git_commit(folder: Path) -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None


class RunRecord(Protocol):
    """What a sweep writes through and reads back. :class:`RunStore` is the MLflow one."""

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
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        metric_key: str = "",
        direction: str = "maximize",
        task: str = "custom",
        note: str = "",
        source_file: str | None = None,
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
    ) -> None: ...

    def start_trial_run(
        self,
        experiment_id: str,
        parent_run_id: str,
        number: int,
        *,
        start_time: float,
        tags: Mapping[str, str],
        study: str | None = None,
        worker: str | None = None,
        recovered: str | None = None,
    ) -> str: ...

    def finish_trial_run(
        self,
        run_id: str,
        *,
        status: str,
        state: str,
        end_time: float,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        steps: Mapping[str, Sequence[tuple[int, float]]] | None = None,
        error: str | None = None,
    ) -> None: ...

    def mark_run(self, run_id: str, *, status: str, state: str, error: str) -> None: ...

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[TrialRun]: ...


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TAG else text[: _MAX_TAG - 3] + "..."


def _finite(values: Mapping[str, float]) -> dict[str, float]:
    # MLflow stores NaN but the UI sorts it oddly; an undefined metric is left out instead.
    return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(float(v))}


class RunStore:
    """The project's MLflow record, behind one injected :class:`MlflowClient`."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    @classmethod
    def open(cls, tracking_uri: str) -> RunStore:
        """The store at ``tracking_uri``; a server that does not answer fails in seconds, not minutes."""
        if tracking_uri.startswith(("http://", "https://")):
            _check_server(tracking_uri)
        try:
            if tracking_uri.startswith("sqlite:///"):
                return cls(_initialise_sqlite_once(tracking_uri))
            return cls(MlflowClient(tracking_uri=tracking_uri))
        except MlflowException as exc:
            raise TrackerError(f"cannot open the MLflow store {tracking_uri}: {exc.message[:200]}") from exc

    @property
    def tracking_uri(self) -> str:
        return str(self.client.tracking_uri)

    # -- experiment ---------------------------------------------------------------------

    def ensure_experiment(self, name: str) -> str:
        """The experiment's id, created (in the model-training view) when it does not exist."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                raise UsageError(
                    f"experiment {name!r} is deleted in {self.tracking_uri}; restore it in the MLflow UI "
                    "or choose another --experiment"
                )
            return str(experiment.experiment_id)
        try:
            return str(self.client.create_experiment(name, tags={_EXPERIMENT_KIND_TAG: _EXPERIMENT_KIND}))
        except MlflowException:
            # Another worker created it first; theirs is ours.
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return str(experiment.experiment_id)

    def experiment_id(self, name: str) -> str:
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            raise UsageError(
                f"no experiment {name!r} in {self.tracking_uri}; run `tracker sweep` first or pass --experiment"
            )
        return str(experiment.experiment_id)

    # -- the sweep's parent run -----------------------------------------------------------

    def find_sweep_run(self, experiment_id: str, study: str) -> str | None:
        """The first parent run of study ``study``, or None.

        The study is matched here, not in MLflow's filter: its filter strings have no escape
        for a quote, so a name like ``it's`` would never be found and each resume would
        start a new parent run.
        """
        found = [run for run in self.sweep_runs(experiment_id) if run.study == study]
        return min(found, key=lambda run: run.start_time or 0).run_id if found else None

    def resume_sweep_run(self, run_id: str) -> None:
        self.client.update_run(run_id, status="RUNNING")

    def create_sweep_run(
        self,
        experiment_id: str,
        study: str,
        *,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
        metric_key: str = "",
        direction: str = "maximize",
        task: str = "custom",
        note: str = "",
        source_file: str | None = None,
    ) -> str:
        """The parent run of study ``study``; ``tags`` are the cost-allocation tags.

        ``source_file`` (the config) becomes the run's source in the UI, with the git commit
        of its folder when it is in a repository.
        """
        own = {_TAG_ROLE: _ROLE_SWEEP, _TAG_STUDY: study, _TAG_DIRECTION: direction, _TAG_TASK: task}
        own.update(source_tags(source_file))
        if metric_key:
            own[_TAG_METRIC] = metric_key
        if note:
            own[_TAG_NOTE] = note
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
    ) -> None:
        """End the parent run with the sweep's figures, why it stopped and which trial won."""
        tags = {_TAG_STOP_REASON: stop_reason}
        if best_run_id:
            tags[_TAG_BEST_RUN] = best_run_id
        if pareto_trials:
            tags[_TAG_PARETO] = ",".join(map(str, pareto_trials))
        now = _ms(time.time())
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in _finite(metrics).items()],
            tags=[RunTag(k, _clip(v)) for k, v in tags.items()],
        )
        self.client.set_terminated(run_id, status=status, end_time=now)

    # -- one run per trial -----------------------------------------------------------------

    def start_trial_run(
        self,
        experiment_id: str,
        parent_run_id: str,
        number: int,
        *,
        start_time: float,
        tags: Mapping[str, str],
        study: str | None = None,
        worker: str | None = None,
        recovered: str | None = None,
    ) -> str:
        own = {_TAG_PARENT: parent_run_id, _TAG_ROLE: _ROLE_TRIAL, _TAG_TRIAL: str(number), _TAG_STATE: "RUNNING"}
        for key, value in ((_TAG_STUDY, study), (_TAG_WORKER, worker), (_TAG_RECOVERED, recovered)):
            if value is not None:
                own[key] = value
        run = self.client.create_run(
            experiment_id, start_time=_ms(start_time), run_name=f"trial-{number}", tags={**tags, **own}
        )
        return str(run.info.run_id)

    def finish_trial_run(
        self,
        run_id: str,
        *,
        status: str,
        state: str,
        end_time: float,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        steps: Mapping[str, Sequence[tuple[int, float]]] | None = None,
        error: str | None = None,
    ) -> None:
        """Params, final metrics, intermediate steps and the end state in one batch, then the end."""
        stamp = _ms(end_time)
        batch = _metric_batch(metrics, steps or {}, stamp)
        tags = [RunTag(_TAG_STATE, state)]
        if error:
            tags.append(RunTag(_TAG_ERROR, _clip(error)))
        params_list = [Param(k, str(v)) for k, v in params.items()]
        # log_batch takes at most 1000 metrics per call.
        for start in range(0, max(len(batch), 1), 1000):
            chunk = batch[start : start + 1000]
            first = start == 0
            self.client.log_batch(
                run_id, metrics=chunk, params=params_list if first else (), tags=tags if first else ()
            )
        self.client.set_terminated(run_id, status=status, end_time=stamp)

    def mark_run(self, run_id: str, *, status: str, state: str, error: str) -> None:
        """End a run that its own process could not end (it was killed)."""
        self.client.log_batch(run_id, tags=[RunTag(_TAG_STATE, state), RunTag(_TAG_ERROR, _clip(error))])
        self.client.set_terminated(run_id, status=status)

    def set_train_mean(self, run_id: str, mean: float) -> None:
        """Keep the training target's mean on a regression trial's run, for its no-model baseline."""
        self.client.set_tag(run_id, _TAG_TRAIN_MEAN, repr(float(mean)))

    def mark_champion(self, run_id: str) -> None:
        """Tag the champion's run, and give it its sweep's source (the config file and commit)."""
        run = self.client.get_run(run_id)
        tags = {_TAG_CHAMPION: "true"}
        parent_id = run.data.tags.get(_TAG_PARENT)
        if parent_id:
            parent = self.client.get_run(parent_id).data.tags
            tags.update({k: v for k, v in parent.items() if k in _SOURCE_TAGS})
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
                    [InputTag(_TAG_DATA_CONTEXT, i.context)],
                )
                for i in inputs
            ],
        )

    def log_values(self, key: str, values: Mapping[str, float]) -> None:
        """One metric on many runs (``run_id -> value``)."""
        now = _ms(time.time())
        for run_id, value in values.items():
            self.client.log_batch(run_id, metrics=[Metric(key, float(value), now, 0)])

    def log_report(self, run_id: str, files: Sequence[str], metrics: Mapping[str, float]) -> None:
        """The report's files under ``reports/`` and its headline figures as metrics on the sweep's run."""
        for path in files:
            self.client.log_artifact(run_id, path, artifact_path=_REPORTS)
        now = _ms(time.time())
        self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in _finite(metrics).items()])

    def value_the_model(
        self, run_id: str, files: Sequence[str], tags: Mapping[str, str], *, folder: str = _REPORTS
    ) -> list[str]:
        """Tag every registered version of ``run_id``'s model with its value, and attach the report to the run.

        The Model Registry then shows what a version is worth beside it, and the version's
        run holds the report under ``reports/``. Returns "name/version" of each version tagged.
        """
        tagged = []
        for version in self.client.search_model_versions(f"run_id = '{run_id}'"):
            for key, value in tags.items():
                self.client.set_model_version_tag(version.name, version.version, key, value)
            tagged.append(f"{version.name}/{version.version}")
        if tagged:
            for path in files:
                self.client.log_artifact(run_id, path, artifact_path=folder)
        return tagged

    def log_monthly(self, run_id: str, series: Mapping[str, Sequence[tuple[int, float]]], files: Sequence[str]) -> None:
        """Monthly figures as metric steps (step = month index), and the files under ``realized/``."""
        now = _ms(time.time())
        metrics = [Metric(key, value, now, step) for key, points in series.items() for step, value in points]
        for start in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 metrics a batch
            self.client.log_batch(run_id, metrics=[m for m in metrics[start : start + 1000] if math.isfinite(m.value)])
        for path in files:
            self.client.log_artifact(run_id, path, artifact_path=_REALIZED)

    def load_report_figures(self, run_id: str) -> dict[str, Any] | None:
        """The ``roi.json`` a report logged on the sweep's run, or None when none was."""
        import json
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = self.client.download_artifacts(run_id, f"{_REPORTS}/roi.json", folder)
            except (MlflowException, OSError):
                return None
            with open(path, encoding="utf-8") as stream:
                figures: dict[str, Any] = json.load(stream)
                return figures

    # -- reading ---------------------------------------------------------------------------

    def sweep_runs(self, experiment_id: str) -> list[SweepRun]:
        """The experiment's sweep (parent) runs, newest first."""
        out: list[SweepRun] = []
        token: str | None = None
        while True:
            page = self.client.search_runs(
                [experiment_id],
                filter_string=f"tags.`{_TAG_ROLE}` = '{_ROLE_SWEEP}'",
                order_by=["attributes.start_time DESC"],
                max_results=1000,
                page_token=token,
            )
            out.extend(_sweep_run(run) for run in page)
            token = page.token
            if not token:
                return out

    def latest_sweep_run(self, experiment_id: str) -> SweepRun:
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
        return _sweep_run(run) if run.data.tags.get(_TAG_ROLE) == _ROLE_SWEEP else _trial_run(run)

    def sweep_run(self, run_id: str) -> SweepRun:
        run = self.run(run_id)
        if not isinstance(run, SweepRun):
            raise UsageError(f"run {run_id} is not a sweep's parent run")
        return run

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[TrialRun]:
        """Every trial run of one sweep, each a frozen snapshot, by trial number."""
        query = f"tags.`{_TAG_PARENT}` = '{parent_run_id}'"
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
            out.extend(_trial_run(run) for run in page)
            token = page.token
            if not token:
                break
        out.sort(key=lambda r: r.number)
        return out

    # -- artifacts and the registry ----------------------------------------------------------

    def log_predictions(self, run_id: str, predictions: Mapping[str, pd.DataFrame]) -> None:
        """``predictions/<part>.parquet`` for each part (``val``, ``test``)."""
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as folder:
            for part, frame in predictions.items():
                path = Path(folder) / f"{part}.parquet"
                frame.to_parquet(path, index=False)
                self.client.log_artifact(run_id, str(path), artifact_path=_PREDICTIONS)

    def load_predictions(self, run_id: str, part: str) -> pd.DataFrame | None:
        import tempfile

        import pandas as pd

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = self.client.download_artifacts(run_id, f"{_PREDICTIONS}/{part}.parquet", folder)
            except (MlflowException, OSError):
                return None
            return pd.read_parquet(path)

    def champion_run_id(self, model_name: str, alias: str = CHAMPION_ALIAS) -> str | None:
        try:
            version = self.client.get_model_version_by_alias(model_name, alias)
        except MlflowException:
            return None
        return str(version.run_id) if version.run_id else None


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
    for key, value in _finite(metrics).items():
        # The final value goes one step past the intermediate ones, so it is the one shown.
        batch.append(Metric(key, value, stamp, last_step.get(key, -1) + 1))
    return batch


def _check_server(tracking_uri: str, timeout: float = 10) -> None:
    """Ask a tracking server's /health once, so a server that is down is one line within seconds."""
    import urllib.error
    import urllib.request

    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered: an MLflow behind a proxy may not serve /health, but it is there
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise TrackerError(
            f"cannot reach the MLflow tracking server at {tracking_uri} ({reason}); start it, "
            "or check --tracking-uri / MLFLOW_TRACKING_URI"
        ) from exc


def _initialise_sqlite_once(tracking_uri: str) -> MlflowClient:
    """Create a new SQLite store's tables in one process at a time.

    MLflow migrates a new database on first use; two sweeps started together on a new
    file would both run the migration and one would fail. A file lock beside the
    database makes the second wait, then find the tables made.
    """
    import fcntl
    import logging
    from pathlib import Path

    # MLflow announces creating and migrating a new store's tables at INFO, before the
    # sweep's first line; the store is an implementation detail of the first run.
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)
    path = Path(tracking_uri.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            client.search_experiments(max_results=1)
            return client
        except MlflowException:
            raise
        except Exception as exc:  # SQLAlchemy's errors, when the file is not an MLflow database
            raise UsageError(
                f"{path} is not an MLflow SQLite database; point --tracking-uri at another file (or move this one away)"
            ) from exc
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(("tracker.", "mlflow."))}


def _trial_run(run: Run) -> TrialRun:
    tags = dict(run.data.tags)
    mean = tags.get(_TAG_TRAIN_MEAN)
    return TrialRun(
        run_id=run.info.run_id,
        number=int(tags.get(_TAG_TRIAL, "-1")),
        status=run.info.status,
        state=tags.get(_TAG_STATE, run.info.status),
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=_user_tags(tags),
        experiment_id=str(run.info.experiment_id),
        parent_run_id=tags.get(_TAG_PARENT),
        is_champion=tags.get(_TAG_CHAMPION) == "true",
        train_mean=float(mean) if mean is not None else None,
    )


def _sweep_run(run: Run) -> SweepRun:
    tags = dict(run.data.tags)
    pareto = tuple(int(n) for n in tags.get(_TAG_PARETO, "").split(",") if n.strip().isdigit())
    return SweepRun(
        run_id=run.info.run_id,
        experiment_id=str(run.info.experiment_id),
        name=run.info.run_name or "",
        status=run.info.status,
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        study=tags.get(_TAG_STUDY),
        metric_key=tags.get(_TAG_METRIC),
        direction=tags.get(_TAG_DIRECTION, "maximize"),
        task=tags.get(_TAG_TASK),
        best_run_id=tags.get(_TAG_BEST_RUN),
        stop_reason=tags.get(_TAG_STOP_REASON),
        pareto_trials=pareto,
        params=dict(run.data.params),
        tags=_user_tags(tags),
    )


def status_for_state(state: str) -> str:
    """Optuna trial state -> MLflow run status."""
    return {
        "COMPLETE": RunStatus.to_string(RunStatus.FINISHED),
        "PRUNED": RunStatus.to_string(RunStatus.KILLED),
        "FAIL": RunStatus.to_string(RunStatus.FAILED),
    }.get(state, RunStatus.to_string(RunStatus.FAILED))
