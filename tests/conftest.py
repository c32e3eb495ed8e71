"""Shared fixtures: a clean working folder with a real SQLite MLflow store, and no AWS."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tracker.cli import cli

# PostgreSQL databases and the MLflow tracking server, for the scale-out tests.
pytest_plugins = ["tests.scale_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Boto3 never probes the instance metadata address or finds real credentials."""
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    # Optuna's plots cost about two seconds a sweep; tests/test_sweep.py checks them with 1.
    monkeypatch.setenv("TRACKER_PLOTS", "0")
    monkeypatch.setenv("MLFLOW_ENABLE_TELEMETRY", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "true")


@pytest.fixture(scope="session")
def _empty_mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store with its tables created once; each test gets a copy.

    Creating the tables runs MLflow's migrations (seconds); copying the file does not.
    """
    folder = tmp_path_factory.mktemp("mlflow-template")
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from mlflow.tracking import MlflowClient; MlflowClient('sqlite:///mlflow.db').search_experiments()",
        ],
        cwd=folder,
        check=True,
        capture_output=True,
    )
    return folder / "mlflow.db"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _empty_mlflow_db: Path) -> Path:
    """A fresh working folder, as the user's project folder, with an empty MLflow store."""
    shutil.copy(_empty_mlflow_db, tmp_path / "mlflow.db")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def invoke() -> Iterator[object]:
    runner = CliRunner()

    def _invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return runner.invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)

    yield _invoke


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tracker_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracker", *args]
