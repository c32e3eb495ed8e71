"""``execution.backend: ray``: the sweep's workers as Ray tasks, placed and restarted by Ray.

Ray places, Optuna decides, MLflow records. Each Ray task runs the trial loop of a local
worker process (:func:`tuning.loop.work`) against the shared study, so the sampler, the
pruner, the stop rules, the heartbeats and the MLflow writer are the ones every sweep uses;
nothing is handed to Ray Tune. Ray runs a task again elsewhere when its node or process is
lost (``execution.max_retries``); the trial it was running is failed by its silent heartbeat
and its run closed ``FAILED`` by whichever process reconciles next. This process, the driver,
reports the whole cluster's progress from the study, repairs the record as trials are lost,
and cancels the tasks on Ctrl-C or once the stop rules leave them nothing to do.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from types import ModuleType
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from tracker.config import ExecutionConfig, Settings
from tracker.errors import ConfigError, TrackerError, UsageError, first_line
from tracker.record import layout
from tuning.events import SweepEvent
from tuning.loop import progress_event
from tuning.recovery import fail_stale, reconcile
from tuning.setup import SweepSetup
from tuning.storage import HEARTBEAT_SECONDS, beats

__all__ = ["INSTANCE_TYPE_LABEL", "RayCluster", "node_prices", "open_cluster", "require_ray", "supervise_ray"]

# The Ray node label that names a node's instance type (`ray start --labels instance-type=...`).
INSTANCE_TYPE_LABEL = "instance-type"
_INSTALL = "execution.backend: ray needs Ray, which is not installed; pip install 'tracker-roi[ray]'"
_NO_HEARTBEAT = (
    "this study's storage keeps no heartbeats (a journal file, the gRPC proxy, or execution.heartbeat: false): "
    "a trial lost with its node stays RUNNING; use a database storage (PostgreSQL) on a cluster"
)
_INTERRUPTED = "interrupted by the user (Ctrl-C)"
# How often the driver looks at the study for progress: one query a second.
_POLL_SECONDS = 1.0
_CONNECT_SECONDS = 5
# How long cancelled workers get to record their trial before they are stopped outright.
_CANCEL_GRACE_SECONDS = 30
# How long workers get to return once the study needs nothing more of them.
_QUEUED_GRACE_SECONDS = 60


def require_ray() -> ModuleType:
    """The ``ray`` module, or one line saying how to install it (exit 2)."""
    try:
        import ray
    except ImportError:
        raise UsageError(_INSTALL) from None
    return ray


@dataclass
class RayCluster:
    """The Ray cluster a sweep runs on, and whether this process started it (and so stops it)."""

    ray: ModuleType
    started_here: bool

    def worker_count(self, execution: ExecutionConfig) -> int:
        """``execution.workers``, or as many trials as the cluster's CPUs (and GPUs) hold at once."""
        resources = self.ray.cluster_resources()
        cpus, gpus = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
        if cpus < execution.cpus_per_trial or gpus < execution.gpus_per_trial:
            raise ConfigError(
                f"execution: a trial needs {execution.cpus_per_trial:g} CPU and {execution.gpus_per_trial:g} GPU, "
                f"and the Ray cluster has {cpus:g} CPU and {gpus:g} GPU in all; lower cpus_per_trial/gpus_per_trial "
                "or add nodes"
            )
        if execution.workers is not None:
            return execution.workers
        fits = cpus // execution.cpus_per_trial
        if execution.gpus_per_trial:
            fits = min(fits, gpus // execution.gpus_per_trial)
        return max(1, int(fits))

    def describe(self) -> str:
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        cpus = sum(float(n.get("Resources", {}).get("CPU", 0)) for n in nodes)
        return f"{len(nodes)} node(s), {cpus:g} CPU"

    def close(self) -> None:
        if self.started_here:
            self.ray.shutdown()


def open_cluster(execution: ExecutionConfig) -> RayCluster:
    """Join the cluster at ``execution.address``, or start one of this machine for the sweep.

    A process already connected to Ray (a notebook, a test) keeps its connection.
    """
    ray = require_ray()
    if ray.is_initialized():
        return RayCluster(ray, started_here=False)
    # ERROR: Ray's start-up notices (token authentication is on, ...) are not the sweep's to show.
    options: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False, "namespace": "tracker"}
    if execution.address is None:
        # "local": always a new cluster, never one that `ray start` left running here.
        options |= {"address": "local", "include_dashboard": False}
    else:
        options["address"] = execution.address
        _check_reachable(execution.address)
    try:
        ray.init(**options)
    except (ConnectionError, TimeoutError, ValueError, RuntimeError) as exc:
        where = execution.address or "this machine"
        raise TrackerError(
            f"cannot start or reach the Ray cluster at {where}: {first_line(exc, 100)}; check execution.address, "
            "or that the cluster's head node is up"
        ) from exc
    return RayCluster(ray, started_here=True)


def _check_reachable(address: str) -> None:
    """A head node's port that does not answer is said at once: Ray itself would wait minutes."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"execution.address: {address!r} must be auto, ray://host:10001 or host:port")
    try:
        socket.create_connection((host, int(port)), timeout=_CONNECT_SECONDS).close()
    except OSError as exc:
        raise TrackerError(
            f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}; check execution.address, "
            "or that the cluster's head node is up"
        ) from exc


def node_prices(execution: ExecutionConfig, prices: Mapping[str, Decimal]) -> dict[str, str]:
    """The hourly prices the workers may need, as text (Ray sends them to other machines as is)."""
    if execution.instance_type is not None and execution.instance_type not in prices:
        raise ConfigError(
            f"execution.instance_type: no price for {execution.instance_type!r}; add it to compute.prices"
        )
    return {name: str(price) for name, price in prices.items()}


def supervise_ray(
    sweep: SweepSetup,
    emit: Callable[[SweepEvent], None],
    started: float,
    cluster: RayCluster,
    prices: Mapping[str, str],
) -> str:
    """Run the sweep's workers as Ray tasks and report their progress; returns why they stopped."""
    ray, settings = cluster.ray, sweep.settings
    execution = settings.execution
    count = cluster.worker_count(execution)
    emit(SweepEvent("info", f"Ray: {count} worker(s) on {cluster.describe()}"))
    if not beats(sweep.storage):
        emit(SweepEvent("info", _NO_HEARTBEAT))
    task = ray.remote(_worker_task).options(
        name="tracker-worker",
        num_cpus=execution.cpus_per_trial,
        num_gpus=execution.gpus_per_trial,
        max_retries=execution.max_retries,
        retry_exceptions=False,  # a failing objective is a failed trial, not a reason to start again
    )
    # Wall-clock time crosses machines; each worker turns it back into its own monotonic clock.
    started_at = time.time() - (time.monotonic() - started)
    payload = settings.model_dump(mode="json")
    pending = [task.remote(payload, dict(prices), str(sweep.hourly_usd), index, started_at) for index in range(count)]
    reported = {t.number for t in sweep.study.get_trials(deepcopy=False) if t.state.is_finished()}
    reasons: list[str] = []
    last_check = time.monotonic()
    done_since: float | None = None
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=len(pending), timeout=_POLL_SECONDS)
            for ref in done:
                reasons.extend(_outcome(ray, ref, emit, pending))
            if time.monotonic() - last_check > HEARTBEAT_SECONDS:
                # A lost node's trial: failed once its heartbeat is stale (one small query) ...
                fail_stale(sweep)
                last_check = time.monotonic()
            trials = sweep.study.get_trials(deepcopy=False)
            if _report(sweep, emit, reported, trials):
                # ... and then its run closed FAILED, with the reason.
                for note in reconcile(sweep):
                    emit(SweepEvent("info", note))
            if done_since is None and pending and _nothing_left(sweep, trials, started):
                done_since = time.monotonic()
            if done_since is not None and time.monotonic() - done_since > _QUEUED_GRACE_SECONDS:
                # A worker still queued for a node (one was lost) would only start to stop. A
                # running one has long returned by now: it stops at its next look at the study.
                _cancel(ray, pending, force=False)
                pending = []
    except BaseException:
        _cancel(ray, pending, force=False)
        raise
    _report(sweep, emit, reported, sweep.study.get_trials(deepcopy=False))
    return reasons[0] if reasons else "all Ray workers ended"


def _nothing_left(sweep: SweepSetup, trials: list[FrozenTrial], started: float) -> bool:
    """Whether the stop rules hold and no trial runs: a worker that has not started has nothing to do."""
    if any(t.state == TrialState.RUNNING for t in trials):
        return False
    return sweep.policy.reason(trials, elapsed=time.monotonic() - started, failures=0) is not None


def _outcome(ray: ModuleType, ref: Any, emit: Callable[[SweepEvent], None], pending: list[Any]) -> list[str]:
    """A finished task's stop reason; a worker Ray gave up on is said, and an error stops the sweep."""
    try:
        return [str(ray.get(ref))]
    except ray.exceptions.TaskCancelledError:
        return []
    except ray.exceptions.RayTaskError as exc:
        _cancel(ray, pending, force=False)
        cause = exc.cause
        if isinstance(cause, TrackerError):
            raise cause from None
        raise TrackerError(f"a Ray worker failed: {type(cause).__name__}: {first_line(cause, 300)}") from None
    except ray.exceptions.RayError as exc:
        # Its node or process was lost more often than execution.max_retries allows.
        emit(SweepEvent("info", f"a Ray worker was lost and not started again: {first_line(exc, 200)}"))
        return []


def _cancel(ray: ModuleType, refs: list[Any], *, force: bool) -> None:
    """Cancel tasks: a KeyboardInterrupt in each, so its trial is recorded; then outright after a grace."""
    if not refs:
        return
    for ref in refs:
        ray.cancel(ref, force=force)
    if force:
        return
    _, left = ray.wait(refs, num_returns=len(refs), timeout=_CANCEL_GRACE_SECONDS)
    for ref in left:
        ray.cancel(ref, force=True)


def _report(
    sweep: SweepSetup, emit: Callable[[SweepEvent], None], reported: set[int], trials: list[FrozenTrial]
) -> bool:
    """One progress event per trial that ended since the last look, whichever worker ran it.

    Returns whether one of them was lost with its worker (failed by another), so its run needs repair.
    """
    lost = False
    for trial in trials:
        if trial.number in reported or not trial.state.is_finished():
            continue
        reported.add(trial.number)
        if trial.user_attrs.get(layout.ATTR_SURPLUS):
            continue
        if trial.state == TrialState.FAIL and layout.ATTR_ERROR not in trial.user_attrs:
            # Not the objective's failure: its worker was lost, and the study goes on without it.
            worker = trial.user_attrs.get(layout.ATTR_WORKER, "unknown")
            emit(SweepEvent("info", f"trial {trial.number} failed: its worker {worker} was lost (heartbeat silent)"))
            lost = True
            continue
        emit(progress_event(sweep, trials, trial.number, trial.state))
    return lost


def _worker_task(
    payload: Mapping[str, Any], prices: Mapping[str, str], hourly: str, index: int, started_at: float
) -> str:
    """A Ray task: one worker of the sweep, on whichever node Ray placed it; returns why it stopped.

    A task's process is Ray's, so it leaves its signal handlers and logging as they are.
    """
    import ray

    from tracker.record._client import open_client
    from tracker.record.writer import TrialRecorder
    from tracker.record.writes import SweepRecord
    from tuning.loop import work
    from tuning.setup import open_sweep

    settings = Settings.model_validate(payload)
    placement, worker, hourly_usd = _placement(ray, settings.execution, prices, Decimal(hourly), index)
    recorder = TrialRecorder(settings.tracking_uri)
    sweep: SweepSetup | None = None
    try:
        store = SweepRecord(open_client(settings.tracking_uri))
        sweep = open_sweep(settings, hourly_usd=hourly_usd, worker_index=index, record=store, recorder=recorder)
        sweep = replace(sweep, worker=worker, placement=placement)
        started = time.monotonic() - (time.time() - started_at)
        reason = work(sweep, lambda event: None, started=started)
        recorder.flush()
        return reason
    except KeyboardInterrupt:  # ray.cancel: the trial it was running is recorded as interrupted
        if sweep is not None:
            _fail_interrupted(sweep)
        return "interrupted by the user"
    finally:
        recorder.close()


def _fail_interrupted(sweep: SweepSetup) -> None:
    """Fail the trial this worker still had RUNNING when it was cancelled.

    ray.cancel interrupts a task anywhere, also between a trial's end and Optuna's tell; a
    trial left RUNNING there would wait for a heartbeat that a journal storage never gives.
    """
    for trial in sweep.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.user_attrs.get(layout.ATTR_WORKER) == sweep.worker:
            sweep.storage.set_trial_user_attr(trial._trial_id, layout.ATTR_ERROR, _INTERRUPTED)
            sweep.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


def _placement(
    ray: ModuleType, execution: ExecutionConfig, prices: Mapping[str, str], hourly: Decimal, index: int
) -> tuple[dict[str, str], str, Decimal]:
    """This worker's node as tags, its worker id, and the hourly price of one of its trials.

    A node of a known instance type prices a trial as its share of the node: the node's
    price times cpus_per_trial over the node's CPUs (or the GPU share, when larger). A node of
    no known type prices it as ``compute`` does (``hourly``, the whole instance).
    """
    import os

    context = ray.get_runtime_context()
    node = context.get_node_id()
    labels = context.get_node_labels() or {}
    ip = ray.util.get_node_ip_address()
    kind = str(labels.get(INSTANCE_TYPE_LABEL) or execution.instance_type or "")
    tags = {
        layout.TAG_NODE: node,
        layout.TAG_NODE_IP: ip,
        layout.TAG_WORKER_INDEX: str(index),
    }
    # The host names the node too: a pid says nothing of a process on another Ray node.
    worker = f"{socket.gethostname()}@ray-{node[:8]}:{os.getpid()}"
    if kind and kind not in prices:
        tags[layout.TAG_INSTANCE_TYPE] = f"{kind} (no price known: priced as the compute section's instance)"
    if not kind or kind not in prices:
        return tags, worker, hourly
    tags[layout.TAG_INSTANCE_TYPE] = kind
    mine: dict[str, Any] = next((n for n in ray.nodes() if n.get("NodeID") == node), {})
    resources = mine.get("Resources", {})
    share = Decimal(str(execution.cpus_per_trial)) / Decimal(str(resources.get("CPU") or execution.cpus_per_trial))
    if execution.gpus_per_trial and resources.get("GPU"):
        share = max(share, Decimal(str(execution.gpus_per_trial)) / Decimal(str(resources["GPU"])))
    return tags, worker, Decimal(prices[kind]) * min(share, Decimal(1))
