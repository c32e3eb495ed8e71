"""PostgreSQL databases and a real MLflow tracking server, started and stopped by the tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ON_CI, free_port

PG = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"


def _admin():
    import psycopg

    return psycopg.connect(PG, autocommit=True)


def postgres_available() -> str | None:
    """None when PostgreSQL answers; else why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install 'tracker-roi[postgres]')"
    try:
        with _admin() as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"PostgreSQL is not reachable on 127.0.0.1:5432 ({type(exc).__name__})"
    return None


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if ON_CI:
        pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
    pytest.skip(reason)


def create_database() -> str:
    name = f"tracker_test_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def url(database: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def stop_group(process: subprocess.Popen) -> None:
    """Stop a server and every helper process it started: they share its process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)


def wait_http(address: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(address, timeout=2):
                return
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with code {process.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@contextlib.contextmanager
def optuna_dashboard(storage: str, cwd: Path) -> Iterator[str]:
    """optuna-dashboard on ``storage``, in its own process group; yields its API's address."""
    port = free_port()
    program = str(Path(sys.executable).with_name("optuna-dashboard"))
    dashboard = subprocess.Popen(
        [program, storage, "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        address = f"http://127.0.0.1:{port}/api"
        wait_http(f"{address}/studies", dashboard, timeout=60)
        yield address
    finally:
        stop_group(dashboard)


def get_json(address: str) -> dict:
    with urllib.request.urlopen(address, timeout=10) as response:
        return dict(json.load(response))


@pytest.fixture
def pg_storage() -> Iterator[str]:
    require_postgres()
    name = create_database()
    try:
        yield url(name)
    finally:
        drop_database(name)


@contextlib.contextmanager
def running_mlflow_server(
    folder: Path, database: str, artifacts: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """``mlflow server`` on a free loopback port, its runs in ``database``, its artifacts at ``artifacts``."""
    port = free_port()
    log = open(folder / "server.log", "w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--backend-store-uri",
            url(database),
            "--artifacts-destination",
            artifacts,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        start_new_session=True,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MLFLOW_ENABLE_TELEMETRY": "false", **(env or {})},
    )
    address = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{address}/health", process)
        yield address
    finally:
        stop_group(process)
        log.close()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """moto's AWS server on a free loopback port, in its own process group; yields its endpoint."""
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{endpoint}/moto-api/", process, timeout=30)
        yield endpoint
    finally:
        stop_group(process)


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free loopback port, its backend store on PostgreSQL."""
    require_postgres()
    name = create_database()
    folder = tmp_path_factory.mktemp("mlflow-server")
    try:
        with running_mlflow_server(folder, name, str(folder / "artifacts")) as address:
            yield address
    finally:
        drop_database(name)
