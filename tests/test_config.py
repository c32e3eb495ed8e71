"""Settings precedence, as a unit: flag > environment > file > default."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from tracker.config import DEFAULT_TRACKING_URI, load_settings


def _file(folder: Path, data: dict) -> Path:
    path = folder / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_flag_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    config = _file(tmp_path, {"tracking_uri": "http://file:5000", "limits": {"max_trials": 7}, "seed": 3})
    env = {"MLFLOW_TRACKING_URI": "http://env:5000", "MLFLOW_EXPERIMENT_NAME": "from-env"}

    default = load_settings(environ={})
    assert default.tracking_uri.endswith("/mlflow.db") and DEFAULT_TRACKING_URI.endswith("mlflow.db")
    assert default.limits.max_trials == 20

    from_file = load_settings(config, environ={})
    assert (from_file.tracking_uri, from_file.limits.max_trials, from_file.seed) == ("http://file:5000", 7, 3)

    from_env = load_settings(config, environ=env)
    assert from_env.tracking_uri == "http://env:5000" and from_env.experiment == "from-env"
    assert load_settings(config, {"experiment": "from-flag"}, environ=env).experiment == "from-flag"
    assert from_env.limits.max_trials == 7  # the environment says nothing of it

    from_flag = load_settings(
        config, {"tracking_uri": "http://flag:5000", "limits.max_trials": 2, "seed": None}, environ=env
    )
    assert from_flag.tracking_uri == "http://flag:5000"
    assert from_flag.limits.max_trials == 2
    assert from_flag.seed == 3  # a flag not given (None) leaves the file's value


def test_a_relative_sqlite_path_is_fixed_to_the_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(overrides={"storage": "sqlite:///sub/optuna.db"}, environ={})
    assert settings.storage == f"sqlite:///{tmp_path.resolve() / 'sub' / 'optuna.db'}"


def test_the_default_study_is_a_journal_file_unless_only_an_earlier_optuna_db_is_there(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).storage == str(tmp_path.resolve() / "optuna.journal")
    (tmp_path / "optuna.db").write_bytes(b"")
    assert load_settings(environ={}).storage == f"sqlite:///{tmp_path.resolve() / 'optuna.db'}"
    (tmp_path / "optuna.journal").write_bytes(b"")
    assert load_settings(environ={}).storage == str(tmp_path.resolve() / "optuna.journal")
    # What a user names wins, relative paths fixed to the working directory.
    assert load_settings(overrides={"storage": "sub/s.journal"}, environ={}).storage == str(
        tmp_path.resolve() / "sub" / "s.journal"
    )
    # A path to an SQLite study is that database, as optuna-dashboard reads it.
    sqlite3.connect(tmp_path / "old.db").execute("CREATE TABLE t (x)").connection.commit()
    assert (
        load_settings(overrides={"storage": "old.db"}, environ={}).storage
        == f"sqlite:///{tmp_path.resolve() / 'old.db'}"
    )


def test_early_stopping_off_may_be_written_unquoted(tmp_path: Path) -> None:
    # YAML 1.1 reads an unquoted `off` as false; the documented value still means off.
    path = tmp_path / "c.yaml"
    path.write_text("early_stopping: off\n")
    assert load_settings(path, environ={}).early_stopping == "off"
    path.write_text("early_stopping: median\n")
    assert load_settings(path, environ={}).early_stopping == "median"


def test_paths_in_a_config_are_relative_to_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    config = _file(
        folder,
        {
            "objective": {"dataset": "data/clients.csv.gz", "target": "y"},
            "cost": {"source": "billing-file", "file": "../bills/cur.csv", "cache_dir": "cache"},
            "storage": "optuna.journal",
            "tracking_uri": "sqlite:///runs/mlflow.db",
        },
    )
    s = load_settings(config, environ={})
    assert s.objective.dataset == str(folder / "data" / "clients.csv.gz")
    assert s.cost.file is not None and Path(s.cost.file).resolve() == tmp_path / "project" / "bills" / "cur.csv"
    assert Path(s.cost.cache_dir) == folder / "cache"
    assert s.storage == str(folder / "optuna.journal")
    assert s.tracking_uri == f"sqlite:///{folder / 'runs' / 'mlflow.db'}"
    # A built-in dataset is a name, not a path; a flag's path is the working directory's.
    named = _file(folder, {"objective": {"dataset": "diabetes"}})
    assert load_settings(named, {"cost.file": "here.csv"}, environ={}).objective.dataset == "diabetes"
    assert load_settings(named, {"cost.file": "here.csv"}, environ={}).cost.file == "here.csv"
