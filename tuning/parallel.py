"""``--jobs N``: N spawned worker processes on one storage, their progress merged into one stream."""

from __future__ import annotations

import multiprocessing
import queue as queue_module
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tracker.config import Settings
from tracker.errors import TrackerError
from tuning.events import SweepEvent
from tuning.objective import without_working_directory
from tuning.recovery import reconcile
from tuning.setup import SweepSetup

__all__ = ["supervise"]


def supervise(sweep: SweepSetup, emit: Callable[[SweepEvent], None], started: float) -> str:
    """Start ``max_parallel`` worker processes and gather their progress; returns why they stopped."""
    settings = sweep.settings
    context = multiprocessing.get_context("spawn")
    events: Any = context.Queue()
    payload = settings.model_dump(mode="json")
    workers = [
        context.Process(
            target=_worker_main,
            args=(payload, str(sweep.hourly_usd), index, events, started),
            name=f"tracker-worker-{index}",
        )
        for index in range(settings.limits.max_parallel)
    ]
    with without_working_directory():
        for process in workers:
            process.start()
    reasons: list[str] = []
    ended: set[int] = set()
    try:
        while len(ended) < len(workers):
            try:
                _forward(events.get(timeout=0.5), emit, reasons)
            except queue_module.Empty:
                pass
            for index, process in enumerate(workers):
                if index in ended or process.exitcode is None:
                    continue
                ended.add(index)
                if process.exitcode != 0:
                    emit(SweepEvent("info", f"worker {index} ended with exit code {process.exitcode}"))
                    for note in reconcile(sweep):
                        emit(SweepEvent("info", note))
        # Drain what the last workers sent before they ended.
        while True:
            try:
                _forward(events.get_nowait(), emit, reasons)
            except queue_module.Empty:
                break
    finally:
        for process in workers:
            process.join(timeout=30)
            if process.is_alive():
                process.terminate()
    return reasons[0] if reasons else "all workers ended"


def _forward(event: SweepEvent, emit: Callable[[SweepEvent], None], reasons: list[str]) -> None:
    if event.kind == "stopped":
        reasons.append(event.message)
    elif event.kind == "error":
        raise TrackerError(event.message)
    else:
        emit(event)


def _worker_main(payload: Mapping[str, Any], hourly: str, index: int, events: Any, started: float) -> None:
    """A worker process: the same loop, its progress sent to the supervisor.

    A process entry point, so it may quiet Optuna's logging for its own process.
    """
    import signal

    import optuna

    from tracker.record._client import open_client
    from tracker.record.writer import TrialRecorder
    from tracker.record.writes import SweepRecord
    from tuning.loop import work
    from tuning.setup import open_sweep

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # SIGTERM stops a worker as Ctrl-C does: its trial is recorded, then it ends.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    settings = Settings.model_validate(payload)
    recorder = TrialRecorder(settings.tracking_uri)
    try:
        store = SweepRecord(open_client(settings.tracking_uri))
        sweep = open_sweep(settings, hourly_usd=Decimal(hourly), worker_index=index, record=store, recorder=recorder)
        reason = work(sweep, events.put, started=started)
        recorder.flush()
        events.put(SweepEvent("stopped", reason, worker=index))
    except KeyboardInterrupt:
        events.put(SweepEvent("stopped", "interrupted by the user", worker=index))
    except TrackerError as exc:
        events.put(SweepEvent("error", str(exc), worker=index))
    finally:
        recorder.close()
