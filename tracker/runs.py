"""Everything that talks to MLflow: the experiment, the sweep's parent run, one run per trial.

Layout (see the design): one experiment per project, opened by the UI in its
model-training view; one parent run per sweep; one nested run per trial named
``trial-<number>``; metrics ``val_<m>``/``test_<m>``; the champion model registered
with alias ``champion`` and its predictions under ``predictions/``.

A trial's run is written in three round trips (create, one batch, terminate), which is
what keeps the tracking overhead per trial small on an SQLite store.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tracker.errors import TrackerError, UsageError

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.entities import Run

__all__ = [
    "ROLE_SWEEP",
    "ROLE_TRIAL",
    "RunStore",
    "TrialRecorder",
    "TrialRun",
]

# Tag keys of our own; the cost-allocation tags are written under their own names.
TAG_ROLE = "tracker.role"
TAG_STUDY = "tracker.study"
TAG_TRIAL = "tracker.trial_number"
TAG_STATE = "tracker.state"
TAG_WORKER = "tracker.worker"
TAG_ERROR = "tracker.error"
TAG_METRIC = "tracker.metric"
TAG_DIRECTION = "tracker.direction"
TAG_CHAMPION = "tracker.champion"
ROLE_SWEEP = "sweep"
ROLE_TRIAL = "trial"
# Tells the MLflow 3 UI to open the experiment in its model-training (runs table) view.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
_MAX_TAG = 5000


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
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def duration_seconds(self) -> float | None:
        value = self.metrics.get("duration_seconds")
        if value is not None:
            return value
        if self.start_time is not None and self.end_time is not None:
            return (self.end_time - self.start_time) / 1000
        return None


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
        try:
            if tracking_uri.startswith("sqlite:///"):
                return cls(_initialise_sqlite_once(tracking_uri))
            return cls(MlflowClient(tracking_uri=tracking_uri))
        except MlflowException as exc:
            raise TrackerError(f"cannot open the MLflow store {tracking_uri}: {exc.message}") from exc

    @property
    def tracking_uri(self) -> str:
        return str(self.client.tracking_uri)

    # -- experiment ---------------------------------------------------------------------

    def ensure_experiment(self, name: str, tags: Mapping[str, str] | None = None) -> str:
        """The experiment's id, created (in the model-training view) when it does not exist."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                raise UsageError(
                    f"experiment {name!r} is deleted in {self.tracking_uri}; restore it in the MLflow UI "
                    "or choose another --experiment"
                )
            return str(experiment.experiment_id)
        all_tags = {EXPERIMENT_KIND_TAG: EXPERIMENT_KIND, **(tags or {})}
        try:
            return str(self.client.create_experiment(name, tags=all_tags))
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
        runs = self.client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{TAG_ROLE}` = '{ROLE_SWEEP}' and tags.`{TAG_STUDY}` = '{_quote(study)}'",
            order_by=["attributes.start_time ASC"],
            max_results=1,
        )
        return runs[0].info.run_id if runs else None

    def create_sweep_run(
        self,
        experiment_id: str,
        study: str,
        *,
        params: Mapping[str, Any],
        tags: Mapping[str, str],
    ) -> str:
        run = self.client.create_run(
            experiment_id,
            run_name=study,
            tags={**tags, TAG_ROLE: ROLE_SWEEP, TAG_STUDY: study},
        )
        self.client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items() if v is not None])
        return str(run.info.run_id)

    def reopen(self, run_id: str) -> None:
        self.client.update_run(run_id, status="RUNNING")

    def close_sweep_run(
        self, run_id: str, *, status: str, metrics: Mapping[str, float], tags: Mapping[str, str] | None = None
    ) -> None:
        now = _ms(time.time())
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in _finite(metrics).items()],
            tags=[RunTag(k, _clip(v)) for k, v in (tags or {}).items()],
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
    ) -> str:
        run = self.client.create_run(
            experiment_id,
            start_time=_ms(start_time),
            run_name=f"trial-{number}",
            tags={
                **tags,
                "mlflow.parentRunId": parent_run_id,
                TAG_ROLE: ROLE_TRIAL,
                TAG_TRIAL: str(number),
                TAG_STATE: "RUNNING",
            },
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
        batch: list[Metric] = []
        last_step: dict[str, int] = {}
        for key, points in (steps or {}).items():
            for step, value in points:
                if math.isfinite(value):
                    batch.append(Metric(key, float(value), stamp, int(step)))
                    last_step[key] = max(last_step.get(key, -1), int(step))
        for key, value in _finite(metrics).items():
            # The final value goes one step past the intermediate ones, so it is the one shown.
            batch.append(Metric(key, value, stamp, last_step.get(key, -1) + 1))
        tags = [RunTag(TAG_STATE, state)]
        if error:
            tags.append(RunTag(TAG_ERROR, _clip(error)))
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
        self.client.log_batch(run_id, tags=[RunTag(TAG_STATE, state), RunTag(TAG_ERROR, _clip(error))])
        self.client.set_terminated(run_id, status=status)

    def log_values(self, key: str, values: Mapping[str, float]) -> None:
        """One metric on many runs (``run_id -> value``)."""
        now = _ms(time.time())
        for run_id, value in values.items():
            self.client.log_batch(run_id, metrics=[Metric(key, float(value), now, 0)])

    def log_report(self, run_id: str, files: Sequence[str], metrics: Mapping[str, float]) -> None:
        """The report's files under ``reports/`` and its headline figures as metrics on the sweep's run."""
        for path in files:
            self.client.log_artifact(run_id, path, artifact_path="reports")
        now = _ms(time.time())
        self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in _finite(metrics).items()])

    # -- reading ---------------------------------------------------------------------------

    def sweep_runs(self, experiment_id: str) -> list[Run]:
        """The experiment's sweep (parent) runs, newest first."""
        return list(
            self.client.search_runs(
                [experiment_id],
                filter_string=f"tags.`{TAG_ROLE}` = '{ROLE_SWEEP}'",
                order_by=["attributes.start_time DESC"],
                max_results=1000,
            )
        )

    def latest_sweep_run(self, experiment_id: str) -> Run:
        runs = self.sweep_runs(experiment_id)
        if not runs:
            raise UsageError("the experiment has no sweep yet; run `tracker sweep` first")
        return runs[0]

    def get_run(self, run_id: str) -> Run:
        try:
            return self.client.get_run(run_id)
        except MlflowException as exc:
            raise UsageError(f"no run {run_id!r} in {self.tracking_uri}: check the run ID") from exc

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[TrialRun]:
        """Every trial run of one sweep, each a frozen snapshot."""
        query = f"tags.`mlflow.parentRunId` = '{parent_run_id}'"
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
                self.client.log_artifact(run_id, str(path), artifact_path="predictions")

    def load_predictions(self, run_id: str, part: str) -> pd.DataFrame | None:
        import tempfile

        import pandas as pd

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = self.client.download_artifacts(run_id, f"predictions/{part}.parquet", folder)
            except (MlflowException, OSError):
                return None
            return pd.read_parquet(path)

    def register_champion(
        self, run_id: str, model: Any, *, model_name: str, input_example: Any, tags: Mapping[str, str]
    ) -> str:
        """Log the model with a signature on ``run_id``, register it, point ``champion`` at it."""
        import mlflow
        import mlflow.sklearn
        from mlflow.models import infer_signature

        signature = infer_signature(input_example, model.predict(input_example))
        trusted = _own_types(model)
        mlflow.set_tracking_uri(self.tracking_uri)
        # Resuming the run attaches the logged model to it; the context ends it FINISHED again.
        # MLflow prints its own "Successfully registered" lines; the sweep's summary says it once.
        with mlflow.start_run(run_id=run_id), contextlib.redirect_stderr(io.StringIO()):
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                signature=signature,
                input_example=input_example,
                registered_model_name=model_name,
                tags=dict(tags),
                skops_trusted_types=trusted,
                # Named, so MLflow does not load the model in a subprocess to infer them.
                pip_requirements=_requirements(),
            )
        version = info.registered_model_version
        if version is None:
            raise TrackerError(f"MLflow did not register the champion model {model_name!r}")
        self.client.set_registered_model_alias(model_name, "champion", str(version))
        self.client.set_tag(run_id, TAG_CHAMPION, "true")
        return str(version)

    def champion_run_id(self, model_name: str, alias: str = "champion") -> str | None:
        try:
            version = self.client.get_model_version_by_alias(model_name, alias)
        except MlflowException:
            return None
        return str(version.run_id) if version.run_id else None


class TrialRecorder:
    """Writes trial runs from a separate process, in order, so training never waits on the store.

    MLflow's store code is mostly Python (SQLAlchemy), so a thread would still hold the
    sweep's interpreter; a process writes on the other core while trial N+1 trains.
    ``flush`` waits until every write is done and raises the first that failed.

    If the sweep's process dies (``kill -9``), the writer still finishes what it was sent,
    then marks the runs it opened and was never told to close as FAILED: no run is left
    RUNNING after its process is gone. Only if both die together does the next sweep
    repair the record, from what Optuna kept of each trial.
    """

    def __init__(self, store: RunStore) -> None:
        import subprocess
        import sys

        self.tracking_uri = store.tracking_uri
        # A plain child process (not multiprocessing): it never re-imports the caller's
        # __main__, so it works from any script, notebook or console entry point.
        self._process = subprocess.Popen(
            [sys.executable, "-c", "import tracker.runs as r; r._serve_writer()", self.tracking_uri],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._closed = False

    def start(
        self, experiment_id: str, parent_run_id: str, number: int, *, start_time: float, tags: Mapping[str, str]
    ) -> None:
        """Open trial ``number``'s run; the writer keeps its run ID, keyed by the number."""
        self._send(
            ("start", number, (experiment_id, parent_run_id, number), {"start_time": start_time, "tags": dict(tags)})
        )

    def finish(self, number: int, **fields: Any) -> None:
        """Close trial ``number``'s run with its params, metrics, steps and end state."""
        fields["params"] = dict(fields.get("params") or {})
        self._send(("finish", number, (), fields))

    def _send(self, message: tuple[Any, ...] | None) -> None:
        import pickle

        stdin = self._process.stdin
        assert stdin is not None
        try:
            pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise TrackerError(f"the MLflow writer process for {self.tracking_uri} has stopped") from exc

    def flush(self) -> None:
        import pickle

        self._send(("flush", None, (), {}))
        stdout = self._process.stdout
        assert stdout is not None
        try:
            error = pickle.load(stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise TrackerError(f"the MLflow writer process for {self.tracking_uri} has stopped") from exc
        if error is not None:
            raise TrackerError(f"writing to the MLflow store {self.tracking_uri} failed: {error}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._send(None)
        except TrackerError:
            pass
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        try:
            self._process.wait(timeout=60)
        except Exception:
            self._process.kill()


def _write_ahead_log() -> None:
    """Put the writer's SQLite connections in WAL mode with NORMAL sync.

    SQLite's defaults sync the disk several times per commit; a trial's run is about a
    dozen commits, so on a shared disk the record competed with the sweep's own Optuna
    storage. In WAL mode with synchronous=NORMAL a commit survives a killed process and
    the file never corrupts; only the last commits before a power cut may be lost. Readers
    (the MLflow UI, other workers) are not blocked by the writer.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def _serve_writer() -> None:
    """The writer process: apply each message to the store, in order, until told to stop."""
    import os
    import pickle
    import signal
    import sys

    # Ctrl-C reaches the whole process group; the sweep decides what an interrupt means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Training comes first: on a busy machine the record may lag, and flush() waits for it.
    os.nice(5)
    if sys.argv[1].startswith("sqlite:"):
        _write_ahead_log()
    # Replies go out on the original stdout; anything MLflow prints (run links for a
    # tracking server) goes to stderr instead of corrupting them.
    outgoing = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    store = RunStore.open(sys.argv[1])
    incoming = sys.stdin.buffer
    open_runs: dict[int, str] = {}
    error: str | None = None
    while True:
        try:
            message = pickle.load(incoming)
        except (EOFError, OSError, pickle.UnpicklingError):
            # The sweep's process is gone without closing these runs: they failed with it.
            for run_id in open_runs.values():
                try:
                    store.mark_run(
                        run_id,
                        status="FAILED",
                        state="FAIL",
                        error="the sweep process ended while this trial was running (killed or crashed)",
                    )
                except Exception:
                    continue
            return
        if message is None:
            return
        kind, number, args, kwargs = message
        if kind == "flush":
            pickle.dump(error, outgoing)
            outgoing.flush()
            error = None
            continue
        if error is not None:
            continue
        try:
            if kind == "start":
                open_runs[number] = store.start_trial_run(*args, **kwargs)
            elif kind == "finish":
                store.finish_trial_run(open_runs.pop(number), **kwargs)
        except MlflowException as exc:
            error = exc.message
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops", "numpy", "pandas")]


def _own_types(model: Any) -> list[str] | None:
    """The types skops will not load by default, for a model this process trained itself.

    MLflow saves scikit-learn models with skops, which refuses types that a crafted file
    could abuse (tree node arrays). The model was just built here from our own code, so
    exactly the types it reports are trusted; a model from elsewhere never passes here.
    """
    try:
        import skops.io
    except ImportError:
        return None
    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model))) or None


def _initialise_sqlite_once(tracking_uri: str) -> MlflowClient:
    """Create a new SQLite store's tables in one process at a time.

    MLflow migrates a new database on first use; two sweeps started together on a new
    file would both run the migration and one would fail. A file lock beside the
    database makes the second wait, then find the tables made.
    """
    import fcntl
    from pathlib import Path

    path = Path(tracking_uri.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            client.search_experiments(max_results=1)
            return client
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _trial_run(run: Run) -> TrialRun:
    tags = dict(run.data.tags)
    return TrialRun(
        run_id=run.info.run_id,
        number=int(tags.get(TAG_TRIAL, "-1")),
        status=run.info.status,
        state=tags.get(TAG_STATE, run.info.status),
        start_time=run.info.start_time,
        end_time=run.info.end_time,
        params=dict(run.data.params),
        metrics=dict(run.data.metrics),
        tags=tags,
    )


def _quote(text: str) -> str:
    return text.replace("'", "\\'")


def status_for_state(state: str) -> str:
    """Optuna trial state -> MLflow run status."""
    return {
        "COMPLETE": RunStatus.to_string(RunStatus.FINISHED),
        "PRUNED": RunStatus.to_string(RunStatus.KILLED),
        "FAIL": RunStatus.to_string(RunStatus.FAILED),
    }.get(state, RunStatus.to_string(RunStatus.FAILED))
