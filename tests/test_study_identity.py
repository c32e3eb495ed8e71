"""A study knows what it optimises: a sweep with another objective never adds its trials to it."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from tests.helpers import parent_runs


def _config(folder: Path, name: str, experiment: str | None = "churn", **objective: object) -> Path:
    path = folder / name
    settings = {"objective": objective, "limits": {"max_trials": 2}, "strategy": "random"}
    path.write_text(yaml.safe_dump({**settings, **({"experiment": experiment} if experiment else {})}))
    return path


def _journal(folder: Path) -> optuna.storages.BaseStorage:
    from tuning.storage import open_storage

    return open_storage(str(folder / "optuna.journal"), create=False)


@pytest.mark.slow
def test_a_config_with_another_objective_never_joins_the_study(workdir: Path, invoke) -> None:
    forest = _config(workdir, "forest.yaml", trainer="random_forest", metric="f1")
    logistic = _config(workdir, "logistic.yaml", trainer="logistic_regression", metric="roc_auc")
    first = invoke("sweep", "--config", forest, "--quiet")
    assert first.exit_code == 0, first.output
    before = (workdir / "optuna.journal").read_bytes()
    runs_before = len(parent_runs("churn"))

    # The same folder, the same experiment and study name, another objective: stopped at the door.
    other = invoke("sweep", "--config", logistic, "--quiet")
    assert other.exit_code == 2, other.output
    lines = other.output.strip().splitlines()
    assert len(lines) == 1, other.output
    assert "study 'churn' optimises f1 (maximize) of random_forest" in lines[0]
    assert "roc_auc (maximize) of logistic_regression" in lines[0] and "--new-study" in lines[0]
    # Nothing touched: not the study's journal, not the MLflow record.
    assert (workdir / "optuna.journal").read_bytes() == before
    assert len(parent_runs("churn")) == runs_before

    # A study of its own beside it: both exist, each best trial from its own objective.
    beside = invoke("sweep", "--config", logistic, "--quiet", "--new-study")
    assert beside.exit_code == 0, beside.output
    storage = _journal(workdir)
    names = sorted(optuna.get_all_study_names(storage=storage))
    assert names[0] == "churn" and names[1].startswith("churn-") and len(names) == 2
    forest_best = optuna.load_study(study_name="churn", storage=storage).best_trial
    logistic_best = optuna.load_study(study_name=names[1], storage=storage).best_trial
    assert "n_estimators" in forest_best.params and "n_estimators" not in logistic_best.params
    assert {r.data.tags["tracker.metric"] for r in parent_runs("churn")} == {"val_f1", "val_roc_auc"}
    # Rerun with --new-study: the same study of its own, found again (its name comes from the objective).
    again = invoke("sweep", "--config", logistic, "--quiet", "--new-study", "--trials", "3")
    assert again.exit_code == 0, again.output
    assert len(optuna.get_all_study_names(storage=_journal(workdir))) == 2
    # And --resume-anyway adds to the first study, as asked.
    anyway = invoke("sweep", "--config", logistic, "--quiet", "--resume-anyway", "--trials", "3")
    assert anyway.exit_code == 0, anyway.output
    assert len(optuna.load_study(study_name="churn", storage=_journal(workdir)).trials) == 3


@pytest.mark.slow
def test_two_configs_without_an_experiment_in_one_folder_never_share_a_study(workdir: Path, invoke) -> None:
    forest = _config(workdir, "forest.yaml", None, trainer="random_forest", metric="f1")
    logistic = _config(workdir, "logistic.yaml", None, trainer="logistic_regression", metric="roc_auc")
    for config in (forest, logistic):
        done = invoke("sweep", "--config", config, "--quiet")
        assert done.exit_code == 0, done.output
    # Each is named after its file: two experiments, two studies, no "tracker-demo" shared.
    assert sorted(optuna.get_all_study_names(storage=_journal(workdir))) == ["forest", "logistic"]
    assert [r.data.tags["tracker.metric"] for r in parent_runs("forest")] == ["val_f1"]
    assert [r.data.tags["tracker.metric"] for r in parent_runs("logistic")] == ["val_roc_auc"]


def test_new_study_and_resume_anyway_contradict(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--new-study", "--resume-anyway")
    assert result.exit_code == 2 and "--new-study and --resume-anyway contradict each other" in result.output
