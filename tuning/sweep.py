"""The sweep: Optuna asks, a trial trains, MLflow records, until a limit is reached.

One loop serves every layout. :func:`run_sweep` runs it in this process (``--jobs 1``) or
in N spawned worker processes that share the storage (``--jobs N``); several machines
running ``tracker sweep`` on one storage are simply more workers. Where each part lives:

- ``tuning.setup``: the objective, the study, the sampler and pruner, the parent run;
- ``tuning.stop``: when to stop (a pure policy over the trials);
- ``tuning.loop``: the trial loop with its heartbeats;
- ``tuning.recovery``: dead workers' trials failed and their runs repaired;
- ``tuning.parallel``: worker processes and their supervision;
- ``tuning.champion``: the summary, the champion's registration, the parent run closed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from tracker.config import Settings
from tracker.record._client import open_client
from tracker.record.writer import TrialRecorder, TrialWriter
from tracker.record.writes import RunRecord, SweepRecord
from tuning.champion import BestTrial, SweepSummary, close_sweep, summarize
from tuning.events import SweepEvent
from tuning.identity import StudyChoice, choose_study
from tuning.loop import work
from tuning.parallel import supervise
from tuning.recovery import reconcile
from tuning.setup import SweepSetup, open_sweep
from tuning.trials import trial_cost

if TYPE_CHECKING:
    from tuning.ray_backend import RayCluster

__all__ = ["BestTrial", "SweepEvent", "SweepInterrupted", "SweepSummary", "run_sweep", "trial_cost"]


class SweepInterrupted(KeyboardInterrupt):
    """Raised by :func:`run_sweep` after Ctrl-C, once the record is closed; carries the summary."""

    def __init__(self, summary: SweepSummary) -> None:
        super().__init__("the sweep was interrupted")
        self.summary = summary


def run_sweep(
    settings: Settings,
    *,
    hourly_usd: Decimal,
    on_event: Callable[[SweepEvent], None] | None = None,
    record: RunRecord | None = None,
    recorder: TrialWriter | None = None,
    source_file: str | None = None,
    study_choice: StudyChoice = "check",
    prices: Mapping[str, Decimal] | None = None,
) -> SweepSummary:
    """Run the sweep described by ``settings`` to one of its stop conditions.

    ``hourly_usd`` is the estimated price of one trial-hour (instance price times count).
    ``record`` and ``recorder`` default to the MLflow store at ``settings.tracking_uri``
    and a writer process for it. Raises :class:`SweepInterrupted` after Ctrl-C, once the
    parent run is closed as KILLED. ``source_file`` (the config) is the parent run's source.
    A study made for another objective stops the sweep before it is touched (exit 2), unless
    ``study_choice`` is ``"new"`` (a study of its own beside it) or ``"resume"`` (join it anyway):
    see :mod:`tuning.identity`. ``prices`` (instance type -> USD per hour) price the trials of
    Ray nodes by their instance type (``execution.backend: ray``).
    """
    emit = on_event or (lambda event: None)
    started = time.monotonic()
    # Started first: the writer process imports MLflow while this one opens the cluster, the store
    # and the study; closed below whatever fails, the caller's recorder included.
    recorder = recorder if recorder is not None else TrialRecorder(settings.tracking_uri)
    cluster: RayCluster | None = None
    try:
        # Before the study: a missing Ray or an unreachable address touches no study and no run.
        node_prices, cluster = _open_cluster(settings, prices or {})
        record = record if record is not None else SweepRecord(open_client(settings.tracking_uri))
        settings = choose_study(settings, study_choice)
        sweep = open_sweep(
            settings, hourly_usd=hourly_usd, worker_index=0, record=record, recorder=recorder, source_file=source_file
        )
        return _run(sweep, emit, started, lambda: _workers(sweep, emit, started, cluster, node_prices))
    finally:
        recorder.close()
        if cluster is not None:
            cluster.close()


def _open_cluster(settings: Settings, prices: Mapping[str, Decimal]) -> tuple[dict[str, str], RayCluster | None]:
    """The Ray cluster of ``execution.backend: ray`` and the prices its workers may need, or none."""
    if settings.execution.backend != "ray":
        return {}, None
    from tuning.ray_backend import node_prices, open_cluster

    return node_prices(settings.execution, prices), open_cluster(settings.execution)


def _workers(
    sweep: SweepSetup,
    emit: Callable[[SweepEvent], None],
    started: float,
    cluster: RayCluster | None,
    prices: Mapping[str, str],
) -> str:
    """Run the sweep's workers where the config says; returns why they stopped."""
    if cluster is not None:
        from tuning.ray_backend import supervise_ray

        return supervise_ray(sweep, emit, started, cluster, prices)
    if sweep.settings.limits.max_parallel > 1:
        return supervise(sweep, emit, started)
    return work(sweep, emit, started=started)


def _fail(sweep: SweepSetup, exc: BaseException) -> None:
    """The sweep itself failed: its parent run says so, rather than staying RUNNING."""
    reason = f"failed: {type(exc).__name__}: {str(exc)[:500]}"
    try:
        sweep.record.close_sweep_run(sweep.parent_run_id, status="FAILED", metrics={}, stop_reason=reason)
    except Exception:  # the store itself may be what failed; the original error is the one to report
        return


def _run(
    sweep: SweepSetup, emit: Callable[[SweepEvent], None], started: float, workers: Callable[[], str]
) -> SweepSummary:
    reason = "interrupted by the user"
    try:
        reason = workers()
    except KeyboardInterrupt as exc:
        try:
            for note in reconcile(sweep):
                emit(SweepEvent("info", note))
            summary = close_sweep(sweep, summarize(sweep, started=started, stop_reason=reason, interrupted=True))
        except BaseException as inner:
            _fail(sweep, inner)
            raise
        raise SweepInterrupted(summary) from exc
    except BaseException as exc:
        _fail(sweep, exc)
        raise
    try:
        return close_sweep(sweep, summarize(sweep, started=started, stop_reason=reason, interrupted=False))
    except BaseException as exc:
        _fail(sweep, exc)
        raise
