"""One sweep across a Ray cluster: a node lost mid-trial costs that trial and nothing else.

A local Ray cluster (``ray.cluster_utils.Cluster``: a head node with no CPUs, two worker
nodes of one CPU) runs ``tracker sweep --backend ray`` on a PostgreSQL study and a real MLflow
tracking server. The node running one trial is removed while that trial runs, and a new node
joins. The record must come out whole: exactly the trials asked for COMPLETE, none left
RUNNING in Optuna or MLflow, one parent run with every trial as a child, and Optuna's values
on the MLflow runs. The same sweep without heartbeats fails these checks (a negative control):
the lost trial stays RUNNING, so the check is shown to catch the fault.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient

from tests.helpers import parent_runs, processes_marked, study, trial_runs, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

TRIALS = 30
LOST = 8  # the trial whose node is removed while it runs

# Each trial takes about half a second; trial LOST hangs (once) after saying which node runs it.
# A barrier makes the node that joins late run trials whatever the timing: past trial LOST + 4,
# the first nodes' trials wait until a trial has run on a node that is not one of them.
OBJECTIVE = """
import os, time
from pathlib import Path

import ray

def objective(trial):
    x = trial.suggest_float("x", 0, 1)
    markers = Path(os.environ["MARKERS"])
    node = ray.get_runtime_context().get_node_id()
    lost = int(os.environ["HANG_TRIAL"])
    if trial.number == lost:
        (markers / "hung").write_text(node)
        time.sleep(600)
    if node not in (markers / "first-nodes").read_text().split():
        (markers / "joined").touch()
    elif trial.number > lost + 4:
        deadline = time.time() + 180
        while not (markers / "joined").exists() and time.time() < deadline:
            time.sleep(0.05)
    time.sleep(0.5)
    return x
"""


def _config(folder: Path, experiment: str, address: str, storage: str, tracking: str, *, heartbeat: bool) -> Path:
    (folder / "rayobjective.py").write_text(OBJECTIVE)
    path = folder / "ray.yaml"
    execution = {
        "backend": "ray",
        "address": address,
        "retry_failed_trials": True,
        "heartbeat": heartbeat,
        "instance_type": "ml.m5.xlarge",
    }
    path.write_text(
        yaml.safe_dump(
            {
                "experiment": experiment,
                "objective": {"function": "rayobjective:objective", "metric": "x", "direction": "maximize"},
                "strategy": "random",
                "storage": storage,
                "tracking_uri": tracking,
                "execution": execution,
            }
        )
    )
    return path


def _sweep_losing_a_node(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str, tracking: str, experiment: str, *, heartbeat: bool
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the sweep on a fresh local cluster, remove the node of trial LOST mid-trial, add one."""
    from ray.cluster_utils import Cluster

    markers = tmp_path / "markers"
    markers.mkdir()
    # The nodes' processes inherit this environment: the objective finds its markers through it.
    monkeypatch.setenv("MARKERS", str(markers))
    monkeypatch.setenv("HANG_TRIAL", str(LOST))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    try:
        workers = {cluster.add_node(num_cpus=1) for _ in range(2)}
        (markers / "first-nodes").write_text("\n".join(node.node_id for node in workers))
        config = _config(tmp_path, experiment, cluster.address, storage, tracking, heartbeat=heartbeat)
        args = ["--config", str(config), "--trials", str(TRIALS), "--quiet"]
        if not heartbeat:
            args += ["--timeout", "90"]  # without heartbeats the sweep waits on the lost trial
        sweep = subprocess.Popen(
            [sys.executable, "-m", "tracker", "sweep", *args],
            cwd=tmp_path,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_for(markers / "hung", timeout=180)
            lost_node = (markers / "hung").read_text()
            [doomed] = [node for node in workers if node.node_id == lost_node]
            cluster.remove_node(doomed)  # the machine is gone, mid-trial
            # And a new one joins: a smaller instance, which its label says and its trials' cost follows.
            cluster.add_node(num_cpus=1, labels={"instance-type": "ml.m5.large"})
            out, _ = sweep.communicate(timeout=400)
        finally:
            if sweep.poll() is None:
                sweep.kill()
                sweep.wait()
        return subprocess.CompletedProcess(sweep.args, sweep.returncode, out), {lost_node}
    finally:
        cluster.shutdown()


def check_record(storage: str, tracking: str, experiment: str, total: int) -> optuna.Study:
    """The record a sweep must leave, whatever was lost on the way."""
    study = optuna.load_study(study_name=experiment, storage=storage)
    trials = [t for t in study.trials if not t.user_attrs.get("surplus")]
    running = [
        t.number for t in trials if t.state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
    ]
    assert not running, f"trials left RUNNING in Optuna: {running}"
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == total, f"{len(complete)} COMPLETE trials, wanted exactly {total}"
    client = MlflowClient(tracking)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=1000)
    left = [r.info.run_name for r in runs if r.info.status == "RUNNING"]
    assert not left, f"MLflow runs left RUNNING: {left}"
    parents = [r for r in runs if r.data.tags.get("tracker.role") == "sweep"]
    assert len(parents) == 1, f"{len(parents)} parent runs"
    children = {int(r.data.tags["tracker.trial_number"]): r for r in runs if r.data.tags.get("tracker.role") == "trial"}
    assert len(children) == sum(r.data.tags.get("tracker.role") == "trial" for r in runs), "a trial has two runs"
    assert set(children) == {t.number for t in trials}, "a trial has no run, or a run has no trial"
    assert all(r.data.tags["mlflow.parentRunId"] == parents[0].info.run_id for r in children.values())
    for trial in complete:
        run = children[trial.number]
        assert run.data.metrics["val_x"] == trial.value, f"trial {trial.number}: MLflow and Optuna disagree"
        assert float(run.data.params["x"]) == trial.params["x"]
    return study


def test_a_lost_node_costs_one_trial_and_the_record_stays_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_storage: str, mlflow_server: str
) -> None:
    done, lost_nodes = _sweep_losing_a_node(
        tmp_path, monkeypatch, pg_storage, mlflow_server, "ray-lost", heartbeat=True
    )
    assert done.returncode == 0, done.stdout
    assert f"{TRIALS} complete" in done.stdout, done.stdout
    study = check_record(pg_storage, mlflow_server, "ray-lost", TRIALS)
    assert study.trials[LOST].state == optuna.trial.TrialState.FAIL
    client = MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("ray-lost")
    runs = {r.data.tags["tracker.trial_number"]: r for r in client.search_runs([exp.experiment_id], max_results=1000)
            if r.data.tags.get("tracker.role") == "trial"}  # fmt: skip
    lost = runs[str(LOST)]
    assert lost.info.status == "FAILED"
    # Closed by its own writer process if that outlived the node, else by the heartbeat's repair.
    assert "lost" in lost.data.tags["tracker.error"] or "ended" in lost.data.tags["tracker.error"], lost.data.tags
    assert lost.data.tags["tracker.node"] in lost_nodes
    # retry_failed_trials: the lost trial ran once more, with its parameters, on a live node.
    [retry] = [r for r in runs.values() if r.data.tags.get("tracker.retry_of") == str(LOST)]
    assert retry.info.status == "FINISHED"
    assert float(retry.data.params["x"]) == study.trials[LOST].params["x"]
    # Every run names its node and worker; the node that joined late ran trials too.
    nodes = {r.data.tags["tracker.node"] for r in runs.values()}
    assert len(nodes) == 3, f"trials ran on {len(nodes)} nodes, wanted the two first and the one that joined"
    assert all(r.data.tags.get("tracker.worker") and r.data.tags.get("tracker.worker_index") for r in runs.values())
    # Each trial is priced by its node's instance type: one CPU of a one-CPU node, the whole price.
    joined = nodes - set((tmp_path / "markers" / "first-nodes").read_text().split())
    for run in runs.values():
        if run.info.status != "FINISHED":
            continue
        kind = "ml.m5.large" if run.data.tags["tracker.node"] in joined else "ml.m5.xlarge"
        assert run.data.tags["tracker.instance_type"] == kind
        hourly = {"ml.m5.large": 0.115, "ml.m5.xlarge": 0.23}[kind]
        expected = run.data.metrics["duration_seconds"] * hourly / 3600
        assert abs(run.data.metrics["cost_usd_estimated"] - expected) < 2e-6, (kind, run.data.metrics)


def test_without_heartbeats_the_lost_trial_stays_running_and_the_checks_catch_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_storage: str, mlflow_server: str
) -> None:
    """The negative control: the same fault with heartbeats off must fail the checks above."""
    done, _ = _sweep_losing_a_node(tmp_path, monkeypatch, pg_storage, mlflow_server, "ray-blind", heartbeat=False)
    assert "stopped: reached the time limit" in done.stdout or "time" in done.stdout, done.stdout
    with pytest.raises(AssertionError, match="RUNNING"):
        check_record(pg_storage, mlflow_server, "ray-blind", TRIALS)
    study = optuna.load_study(study_name="ray-blind", storage=pg_storage)
    assert study.trials[LOST].state == optuna.trial.TrialState.RUNNING


def test_ctrl_c_on_a_ray_sweep_records_the_running_trials_and_stops_the_cluster(tmp_path: Path) -> None:
    """Ctrl-C (SIGINT to the command's process group, as a terminal sends it) on a sweep that
    started a Ray cluster of this machine: the tasks are cancelled, each running trial is
    recorded as interrupted, the parent run is KILLED, and no Ray process is left."""
    (tmp_path / "sleepy.py").write_text(
        "import os, time\nfrom pathlib import Path\n\n\ndef objective(trial):\n"
        "    x = trial.suggest_float('x', 0, 1)\n    time.sleep(3)\n"
        "    (Path(os.environ['MARKERS']) / f'done-{trial.number}').touch()\n    return x\n"
    )
    (tmp_path / "cc.yaml").write_text(
        yaml.safe_dump(
            {
                "experiment": "cc",
                "objective": {"function": "sleepy:objective", "metric": "x", "direction": "maximize"},
                "strategy": "random",
                "execution": {"backend": "ray"},
            }
        )
    )
    marker = f"tracker-ray-ctrl-c-{tmp_path.name}"
    sweep = subprocess.Popen(
        [sys.executable, "-m", "tracker", "sweep", "--config", "cc.yaml", "--trials", "40"],
        cwd=tmp_path,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "TRACKER_TEST_MARKER": marker, "MARKERS": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 180
        while not list(tmp_path.glob("done-*")):
            assert sweep.poll() is None, sweep.communicate()[0]
            assert time.monotonic() < deadline, "no trial finished in 180 s"
            time.sleep(0.2)
        time.sleep(1)  # the next trials are running
        os.killpg(sweep.pid, signal.SIGINT)
        out, _ = sweep.communicate(timeout=120)
    finally:
        if sweep.poll() is None:
            os.killpg(sweep.pid, signal.SIGKILL)
            sweep.wait()
    assert sweep.returncode == 130, out
    assert "interrupted" in out
    runs = trial_runs("cc", tmp_path)
    assert runs and all(r.info.status != "RUNNING" for r in runs), [(r.info.run_name, r.info.status) for r in runs]
    # A trial cancelled mid-run says so; one cancelled between its end and its record is
    # closed by the writer as not finished. Either way Optuna and MLflow agree: nothing RUNNING.
    interrupted = [r for r in runs if r.info.status == "FAILED"]
    assert all(
        "interrupted" in r.data.tags["tracker.error"]
        or "ended before this trial finished" in r.data.tags["tracker.error"]
        for r in interrupted
    )
    states = [t.state for t in study("cc", str(tmp_path / "optuna.journal")).trials]
    assert optuna.trial.TrialState.RUNNING not in states, states
    [parent] = parent_runs("cc", tmp_path)
    assert parent.info.status == "KILLED"
    # Every process of the cluster the sweep started carries its environment: none is left
    # once Ray's shutdown has had its few seconds.
    deadline = time.monotonic() + 20
    while (left := processes_marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not left, [_command_line(pid) for pid in left]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:200]
    except OSError:
        return f"{pid} (gone)"
