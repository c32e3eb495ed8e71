"""Reading the MLflow record back the way a user would see it in the UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
from mlflow.entities import Run
from mlflow.tracking import MlflowClient


def client(folder: Path | None = None) -> MlflowClient:
    # Absolute: MLflow caches stores by URI, and tests change the working directory.
    uri = f"sqlite:///{(folder or Path.cwd()) / 'mlflow.db'}"
    return MlflowClient(uri)


def all_runs(experiment: str = "tracker-demo", folder: Path | None = None) -> list[Run]:
    c = client(folder)
    exp = c.get_experiment_by_name(experiment)
    assert exp is not None, f"no experiment {experiment}"
    return list(c.search_runs([exp.experiment_id], max_results=5000))


def parent_runs(experiment: str = "tracker-demo", folder: Path | None = None) -> list[Run]:
    return [r for r in all_runs(experiment, folder) if r.data.tags.get("tracker.role") == "sweep"]


def trial_runs(experiment: str = "tracker-demo", folder: Path | None = None) -> list[Run]:
    return [r for r in all_runs(experiment, folder) if r.data.tags.get("tracker.role") == "trial"]


def study(name: str = "tracker-demo", storage: str | None = None) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage or f"sqlite:///{Path.cwd() / 'optuna.db'}")


def finished(study_: optuna.Study) -> int:
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return len(study_.get_trials(deepcopy=False, states=states))


def by_number(runs: list[Run]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for run in runs:
        number = int(run.data.tags["tracker.trial_number"])
        assert number not in out, f"trial {number} has two runs"
        out[number] = run
    return out
