"""The writer process: trial runs written beside the sweep, in order, so training never waits on the store.

MLflow's store code is mostly Python (SQLAlchemy), so a thread would still hold the
sweep's interpreter; a separate process writes on the other core while the next trial
trains. The sweep talks to it through :class:`TrialRecorder`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.record.writes import RunRecord, SweepRecord, TrialEnd, TrialStart

# Light on purpose: the sweep starts its writer before it imports MLflow itself, so the two
# imports (seconds each) overlap. MLflow is imported by the writer process, not here.

__all__ = ["DirectWriter", "TrialRecorder", "TrialWriter"]

_NEVER_FINISHED = "the sweep ended before this trial finished"
_REFUSED = "MLflow refused its figures"


class TrialWriter(Protocol):
    """What the sweep needs of a recorder: open and close trial runs, wait for them, stop."""

    def start(self, start: TrialStart) -> None: ...

    def finish(self, number: int, end: TrialEnd) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class DirectWriter:
    """Writes trial runs through a :class:`RunRecord` in this process, as they come.

    For callers that already hold a record and need no second process: a benchmark's
    untracked side, a test of the record's contract, a notebook. It keeps the same contract
    as the writer process: a write that fails is raised by the next :meth:`flush`, and a run
    whose figures the store refused still ends, FAILED.
    """

    def __init__(self, record: RunRecord) -> None:
        self.record = record
        self._open_runs: dict[int, str] = {}
        self._error: str | None = None

    def start(self, start: TrialStart) -> None:
        """Open trial ``start.number``'s run now."""
        if self._error is None:
            try:
                self._open_runs[start.number] = self.record.start_trial_run(start)
            except Exception as exc:
                self._error = _failure(exc)

    def finish(self, number: int, end: TrialEnd) -> None:
        """Close trial ``number``'s run now."""
        if self._error is not None or number not in self._open_runs:
            return
        run_id = self._open_runs.pop(number)
        try:
            self.record.finish_trial_run(run_id, end)
        except Exception as exc:
            # The store refused the trial's figures (a metric name, say): the run still ends.
            self.record.mark_run(run_id, status="FAILED", state="FAIL", error=_REFUSED)
            self._error = _failure(exc)

    def flush(self) -> None:
        """Raise the first write that failed since the last flush."""
        error, self._error = self._error, None
        if error is not None:
            raise TrackerError(f"writing to the MLflow store failed: {error[:200]}")

    def close(self) -> None:
        """Runs still open belong to trials the sweep never finished: they failed with it."""
        for run_id in self._open_runs.values():
            self.record.mark_run(run_id, status="FAILED", state="FAIL", error=_NEVER_FINISHED)
        self._open_runs.clear()


def _failure(exc: Exception) -> str:
    """A failed write in one line: MLflow's own message where it has one."""
    return getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"


class TrialRecorder:
    """Writes trial runs from a separate process, in order, so training never waits on the store.

    MLflow's store code is mostly Python (SQLAlchemy), so a thread would still hold the
    sweep's interpreter; a process writes on the other core while trial N+1 trains.
    ``flush`` waits until every write is done and raises the first that failed.

    If the sweep's process dies (``kill -9``), the writer still finishes what it was sent,
    then marks the runs it opened and was never told to close as FAILED: no run is left
    RUNNING after its process is gone. Only if both die together does the next sweep
    repair the record, from what Optuna kept of each trial.
    """

    def __init__(self, tracking_uri: str) -> None:
        import subprocess
        import sys

        self.tracking_uri = tracking_uri
        # A plain child process (not multiprocessing): it never re-imports the caller's
        # __main__, so it works from any script, notebook or console entry point.
        self._process = subprocess.Popen(
            # -P: the working directory is not put on sys.path, so no user file there hides ours.
            [sys.executable, "-P", "-c", "import tracker.record.writer as w; w._serve_writer()", self.tracking_uri],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            # Its own session: a Ctrl-C at the terminal is the sweep's to handle, and must not
            # kill the writer while it is still importing MLflow.
            start_new_session=True,
        )
        self._closed = False
        # Whether something was sent since the last flush the writer confirmed.
        self._unconfirmed = False

    def start(self, start: TrialStart) -> None:
        """Open trial ``start.number``'s run; the writer keeps its run ID, keyed by the number."""
        self._send(("start", start.number, start))

    def finish(self, number: int, end: TrialEnd) -> None:
        """Close trial ``number``'s run with its params, metrics, steps and end state."""
        self._send(("finish", number, end))

    def _send(self, message: tuple[Any, ...] | None) -> None:
        import pickle

        stdin = self._process.stdin
        assert stdin is not None
        self._unconfirmed = True
        try:
            pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise TrackerError(f"the MLflow writer process for {self.tracking_uri} has stopped") from exc

    def flush(self) -> None:
        import pickle

        self._send(("flush", None, None))
        stdout = self._process.stdout
        assert stdout is not None
        try:
            error = pickle.load(stdout)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise TrackerError(f"the MLflow writer process for {self.tracking_uri} has stopped") from exc
        if error is not None:
            raise TrackerError(f"writing to the MLflow store failed: {error[:200]}")
        self._unconfirmed = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        settled = not self._unconfirmed
        try:
            self._send(None)
        except TrackerError:
            pass
        for stream in (self._process.stdin, self._process.stdout):
            if stream is not None:
                stream.close()
        if settled:
            # Every write is confirmed on disk: the writer has only its own exit left, which
            # (MLflow's teardown) takes most of a second that nobody needs to wait for.
            return
        try:
            self._process.wait(timeout=60)
        except Exception:
            self._process.kill()


def _write_ahead_log() -> None:
    """Put the writer's SQLite connections in WAL mode with NORMAL sync.

    SQLite's defaults sync the disk several times per commit; a trial's run is about a
    dozen commits, so on a shared disk the record competed with the sweep's own Optuna
    storage. In WAL mode with synchronous=NORMAL a commit survives a killed process and
    the file never corrupts; only the last commits before a power cut may be lost. Readers
    (the MLflow UI, other workers) are not blocked by the writer.
    """
    import sqlite3

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        if isinstance(connection, sqlite3.Connection):
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()


def _serve_writer() -> None:
    """The writer process: apply each message to the store, in order, until told to stop.

    This is a process entry point, so it may set its own signal handling and priority.
    """
    import os
    import signal
    import sys

    # Ctrl-C reaches the whole process group; the sweep decides what an interrupt means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Training comes first: on a busy machine the record may lag, and flush() waits for it.
    os.nice(5)
    if sys.argv[1].startswith("sqlite:"):
        _write_ahead_log()
    # Replies go out on the original stdout; anything MLflow prints (run links for a
    # tracking server) goes to stderr instead of corrupting them.
    outgoing = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from tracker.record._client import open_client
    from tracker.record.writes import SweepRecord

    _Writer(SweepRecord(open_client(sys.argv[1])), outgoing).serve(sys.stdin.buffer)


class _Writer:
    """The writer's state: the runs it opened, and the first error since the last flush."""

    def __init__(self, store: SweepRecord, outgoing: Any) -> None:
        self.store = store
        self.outgoing = outgoing
        self.open_runs: dict[int, str] = {}
        self.error: str | None = None

    def serve(self, incoming: Any) -> None:
        import pickle

        while True:
            try:
                message = pickle.load(incoming)
            except (EOFError, OSError, pickle.UnpicklingError):
                self.fail_open_runs("the sweep process ended while this trial was running (killed or crashed)")
                return
            if message is None:
                # Told to stop: a run still open belongs to a trial the sweep never finished.
                self.fail_open_runs(_NEVER_FINISHED)
                return
            self.apply(*message)

    def apply(self, kind: str, number: int | None, value: TrialStart | TrialEnd | None) -> None:
        import pickle

        from tracker.record.writes import TrialEnd, TrialStart

        if kind == "flush":
            pickle.dump(self.error, self.outgoing)
            self.outgoing.flush()
            self.error = None
            return
        if self.error is not None or number is None:
            return
        try:
            if isinstance(value, TrialStart):
                self.open_runs[number] = self.store.start_trial_run(value)
            elif isinstance(value, TrialEnd):
                run_id = self.open_runs.pop(number)
                try:
                    self.store.finish_trial_run(run_id, value)
                except Exception:
                    # The store refused the trial's figures (a metric name, say): the run still ends.
                    self.store.mark_run(run_id, status="FAILED", state="FAIL", error=_REFUSED)
                    raise
        except Exception as exc:
            self.error = _failure(exc)

    def fail_open_runs(self, why: str) -> None:
        """The sweep stopped without closing these runs: they failed with it."""
        for run_id in self.open_runs.values():
            try:
                self.store.mark_run(run_id, status="FAILED", state="FAIL", error=why)
            except Exception:
                continue
        self.open_runs.clear()
