"""Many workers, one study: PostgreSQL storage, a real MLflow tracking server, kills and late joiners."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import sqlalchemy
from mlflow.tracking import MlflowClient

from tests.conftest import free_port, tracker_command
from tests.helpers import slow_objective_config
from tests.scale_fixtures import get_json, optuna_dashboard, stop_group

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _config(folder: Path, experiment: str) -> Path:
    return slow_objective_config(folder, experiment)


def _start(folder: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        tracker_command("sweep", "--quiet", *args),
        cwd=folder,
        text=True,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TRIAL_SECONDS": "0.3", **env},
    )


def _finish(processes: list[subprocess.Popen[str]], timeout: float = 240) -> list[str]:
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=timeout)
        assert process.returncode == 0, out
        outputs.append(out)
    return outputs


def _check_record(storage: str, tracking: str, experiment: str, total: int) -> optuna.Study:
    study = optuna.load_study(study_name=experiment, storage=storage)
    states = [t.state for t in study.trials if not t.user_attrs.get("surplus")]
    finished = sum(s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED) for s in states)
    assert finished == total, f"{finished} finished trials, wanted exactly {total}"
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("tracker.role") == "sweep"]
    assert len(parents) == 1, f"{len(parents)} parent runs"
    trials = [r for r in runs if r.data.tags.get("tracker.role") == "trial"]
    numbers = [int(r.data.tags["tracker.trial_number"]) for r in trials]
    assert len(numbers) == len(set(numbers)), "a trial has two runs"
    real = {t.number for t in study.trials if not t.user_attrs.get("surplus")}
    assert set(numbers) == real, "a trial has no run, or a run has no trial"
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in trials)
    assert all(r.info.status != "RUNNING" for r in runs)
    return study


def test_jobs_2_on_postgres_and_a_tracking_server(tmp_path: Path, pg_storage: str, mlflow_server: str) -> None:
    config = _config(tmp_path, "jobs-two")
    _finish(
        [
            _start(
                tmp_path,
                "--config",
                str(config),
                "--storage",
                pg_storage,
                "--tracking-uri",
                mlflow_server,
                "--jobs",
                "2",
                "--trials",
                "8",
                WAIT_FOR_WORKERS="2",  # however the start-ups race, both workers take trials
            )
        ]
    )
    study = _check_record(pg_storage, mlflow_server, "jobs-two", 8)
    workers = {t.user_attrs["worker"] for t in study.trials}
    assert len(workers) == 2


def test_four_workers_started_at_once_share_one_parent_and_an_exact_total(
    tmp_path: Path, pg_storage: str, mlflow_server: str
) -> None:
    config = _config(tmp_path, "four")
    args = ["--config", str(config), "--storage", pg_storage, "--tracking-uri", mlflow_server, "--trials", "10"]
    _finish([_start(tmp_path, *args, WAIT_FOR_WORKERS="2") for _ in range(4)])
    study = _check_record(pg_storage, mlflow_server, "four", 10)
    assert len({t.user_attrs["worker"] for t in study.trials}) >= 2


def test_a_killed_worker_loses_only_its_trial_and_a_late_worker_joins(
    tmp_path: Path, pg_storage: str, mlflow_server: str
) -> None:
    config = _config(tmp_path, "kill")
    args = ["--config", str(config), "--storage", pg_storage, "--tracking-uri", mlflow_server, "--trials", "10"]
    doomed = _start(tmp_path, *args, HANG_TRIAL="0")
    deadline = time.monotonic() + 90
    while not (tmp_path / "started-0").exists():
        assert time.monotonic() < deadline, "trial 0 never started"
        time.sleep(0.1)
    survivor = _start(tmp_path, *args, TRIAL_SECONDS="1.5")
    time.sleep(2)
    os.kill(doomed.pid, signal.SIGKILL)  # the worker dies mid-trial
    doomed.wait(timeout=30)
    time.sleep(2)
    late = _start(tmp_path, *args, TRIAL_SECONDS="1.5")  # joins the running study
    _finish([survivor, late])
    study = _check_record(pg_storage, mlflow_server, "kill", 10)
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    client = MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("kill")
    [run0] = client.search_runs([exp.experiment_id], filter_string="tags.`tracker.trial_number` = '0'")
    assert run0.info.status == "FAILED"
    late_workers = {t.user_attrs["worker"].rsplit(":", 1)[1] for t in study.trials}
    assert str(late.pid) in late_workers, "the late worker ran trials"


def test_grpc_proxy_workers_reach_an_exact_total(tmp_path: Path, pg_storage: str) -> None:
    port = free_port()
    proxy = subprocess.Popen(
        tracker_command("grpc-proxy", "--storage", pg_storage, "--port", str(port)),
        cwd=tmp_path,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "Optuna gRPC storage proxy on 127.0.0.1:" in proxy.stdout.readline()
        config = _config(tmp_path, "grpc")
        tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
        args = [
            "--config",
            str(config),
            "--storage",
            f"grpc://127.0.0.1:{port}",
            "--tracking-uri",
            tracking,
            "--trials",
            "6",
        ]
        _finish([_start(tmp_path, *args) for _ in range(2)])
    finally:
        stop_group(proxy)
    _check_record(pg_storage, tracking, "grpc", 6)


def test_optuna_dashboard_shows_the_study(tmp_path: Path, pg_storage: str) -> None:
    config = _config(tmp_path, "dashboard")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _finish(
        [
            _start(
                tmp_path, "--config", str(config), "--storage", pg_storage, "--tracking-uri", tracking, "--trials", "2"
            )
        ]
    )
    with optuna_dashboard(pg_storage, tmp_path) as api:
        studies = get_json(f"{api}/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["dashboard"]


def test_a_worker_on_another_machine_that_went_silent_is_failed_by_heartbeat(tmp_path: Path, pg_storage: str) -> None:
    from tuning.storage import GRACE_SECONDS, open_storage

    config = _config(tmp_path, "silent")
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = ["--config", str(config), "--storage", pg_storage, "--tracking-uri", tracking]
    _finish([_start(tmp_path, *args, "--trials", "2")])
    # A worker elsewhere took trial 2, beat once, and vanished: no process here to check.
    storage = open_storage(pg_storage)
    study = optuna.load_study(study_name="silent", storage=storage)
    lost = study.ask()
    lost.set_user_attr("worker", "another-machine:4242")
    storage.record_heartbeat(lost._trial_id)
    # Its last beat, moved back past the grace period: the same as waiting, without the wait.
    engine = sqlalchemy.create_engine(pg_storage)
    with engine.begin() as connection:
        connection.execute(
            sqlalchemy.text(
                "UPDATE trial_heartbeats SET heartbeat = heartbeat - make_interval(secs => :s) WHERE trial_id = :t"
            ),
            {"s": GRACE_SECONDS + 60, "t": lost._trial_id},
        )
    engine.dispose()
    _finish([_start(tmp_path, *args, "--trials", "4")])
    study = _check_record(pg_storage, tracking, "silent", 4)
    assert study.trials[lost.number].state == optuna.trial.TrialState.FAIL
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name("silent")
    [run] = client.search_runs([exp.experiment_id], filter_string=f"tags.`tracker.trial_number` = '{lost.number}'")
    assert run.info.status == "FAILED"
