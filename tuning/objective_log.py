"""What a ``function:`` objective logs through MLflow lands on its own trial's run.

Inside an objective, ``mlflow.log_metric``, ``log_param``, ``set_tag``, ``log_artifact``,
``log_figure`` and the like find an active run: a stand-in for the trial's run, backed by a
tracking store that only keeps what it is given. When the trial ends, what it kept goes to
the writer with the trial's own figures, in the same batch, so the objective never waits on
the MLflow store and no stray run is made in the ``Default`` experiment.

The stand-in is what MLflow's own fluent API would see with a run started: MLflow looks up
the tracking store by URI scheme (``tracker-trial:``) in its store registry, and the active
run on its run stack. ``mlflow.start_run(nested=True)`` inside the objective (the pattern of
MLflow's own Optuna example) gives back the trial's run rather than a run of its own.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Logged", "logging_to_trial"]

_SCHEME = "tracker-trial"


@dataclass
class Logged:
    """What the objective logged during one trial."""

    metrics: list[tuple[str, float, int, int]] = field(default_factory=list)  # key, value, step, time in ms
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: str | None = None  # a folder the writer uploads as the run's artifacts, then removes

    def __bool__(self) -> bool:
        return bool(self.metrics or self.params or self.tags or self.artifacts)


def _store_class() -> type:
    from mlflow.exceptions import MlflowException

    # MLflow's store classes are untyped: held as Any so strict callers type-check.
    AbstractStore: Any = importlib.import_module("mlflow.store.tracking.abstract_store").AbstractStore

    class TrialStore(AbstractStore):  # type: ignore[misc,unused-ignore]  # MLflow is untyped
        """Keeps what is logged on the trial's stand-in run; serves that run back."""

        def __init__(self) -> None:
            super().__init__()
            self.run: Any = None
            self.logged: Logged | None = None

        def get_run(self, run_id: str) -> Any:
            if self.run is None or run_id != self.run.info.run_id:
                raise MlflowException(f"inside an objective only its trial's run can be read, not {run_id!r}")
            return self.run

        def log_batch(self, run_id: str, metrics: Sequence[Any], params: Sequence[Any], tags: Sequence[Any]) -> None:
            logged = self._logged(run_id)
            logged.metrics.extend((m.key, float(m.value), int(m.step or 0), int(m.timestamp)) for m in metrics)
            logged.params.update({p.key: str(p.value) for p in params})
            logged.tags.update({t.key: str(t.value) for t in tags})

        def log_inputs(self, run_id: str, datasets: Any = None, models: Any = None) -> None:
            self._logged(run_id)  # datasets are the sweep's to record (MLflow dataset inputs)

        def create_run(self, *_args: Any, **_kwargs: Any) -> Any:
            # mlflow.start_run(nested=True), as MLflow's own Optuna example writes it: the trial's run.
            return self.get_run(self.run.info.run_id if self.run is not None else "")

        def update_run_info(self, run_id: str, *_args: Any, **_kwargs: Any) -> Any:
            return self.get_run(run_id).info  # mlflow.end_run(): the writer ends the run with the trial

        def _logged(self, run_id: str) -> Logged:
            self.get_run(run_id)
            assert self.logged is not None
            return self.logged

    return TrialStore


_store: Any = None


def _trial_store() -> Any:
    """The one store behind ``tracker-trial:``, registered with MLflow on first use."""
    global _store
    if _store is None:
        registry: Any = importlib.import_module("mlflow.tracking._tracking_service.utils")._tracking_store_registry
        _store = _store_class()()
        registry.register(_SCHEME, lambda store_uri=None, artifact_uri=None: _store)
    return _store


@contextlib.contextmanager
def logging_to_trial(experiment_id: str, number: int) -> Iterator[Logged]:
    """While inside, MLflow's fluent API logs onto trial ``number``'s run (kept in the :class:`Logged`)."""
    from mlflow.entities import Run, RunData, RunInfo

    fluent: Any = importlib.import_module("mlflow.tracking.fluent")
    utils: Any = importlib.import_module("mlflow.tracking._tracking_service.utils")

    store = _trial_store()
    run_id = f"trial-{number}-{uuid.uuid4().hex}"
    # Made only when the objective logs a file (MLflow's local artifact store creates it).
    folder = os.path.join(tempfile.gettempdir(), f"tracker-{run_id}")
    logged = Logged()
    info = RunInfo(
        run_id=run_id,
        experiment_id=experiment_id,
        user_id="",
        status="RUNNING",
        start_time=int(time.time() * 1000),
        end_time=None,
        lifecycle_stage="active",
        artifact_uri=Path(folder).as_uri(),
        run_name=f"trial-{number}",
    )
    store.run, store.logged = Run(info, RunData()), logged
    before_uri: str | None = getattr(utils, "_tracking_uri", None)
    stack = fluent._active_run_stack.get()
    depth = len(stack)
    # The process's setting only, never the environment (mlflow.set_tracking_uri would set both).
    utils._tracking_uri = f"{_SCHEME}:"
    stack.append(fluent.ActiveRun(store.run))
    try:
        yield logged
    finally:
        del stack[depth:]
        utils._tracking_uri = before_uri
        # MLflow keeps an artifact repository per run id; this run's folder is the writer's now.
        utils._artifact_repos_cache.pop(info.run_id, None)
        store.run = store.logged = None
        if os.path.isdir(folder):
            if any(Path(folder).iterdir()):
                logged.artifacts = folder
            else:
                shutil.rmtree(folder, ignore_errors=True)
