"""The MLflow UI server as a child that never outlives ``tracker ui``.

The server runs in a process group of its own (it starts worker processes), so a signal
to ``tracker ui`` would not reach it. Whatever ends ``tracker ui`` (Ctrl-C, SIGTERM, SIGHUP,
the server's own exit) ends the group: SIGTERM first, then after a grace period SIGKILL,
at any moment of the server's start-up. The handlers are in place before the server starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from tracker.errors import TrackerError

__all__ = ["GRACE_SECONDS", "OPEN_TIMEOUT_SECONDS", "serve"]

# How long the server's group has to stop after SIGTERM before it is killed.
GRACE_SECONDS = 5.0
# How long --open waits for the UI to answer before giving up on the browser.
OPEN_TIMEOUT_SECONDS = 90
_STOPPING = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_stop(signum: int, _frame: Any) -> None:
    raise _Stop(signum)


def serve(command: list[str], served: str, on_ready: Callable[[], None] | None = None) -> None:
    """Run ``command`` (the UI server) until it ends or this process is told to stop; call
    ``on_ready`` once the server answers at ``served``."""
    before = {signum: signal.signal(signum, _raise_stop) for signum in _STOPPING}
    server: subprocess.Popen[bytes] | None = None
    stopped_by: int | None = None
    try:
        server = subprocess.Popen(command, start_new_session=True)
        if on_ready is not None and _answers_within(server, served, OPEN_TIMEOUT_SECONDS):
            on_ready()
        server.wait()
    except _Stop as stop:
        stopped_by = stop.signum
    finally:
        # A second signal while stopping must not leave the group behind.
        for signum in _STOPPING:
            signal.signal(signum, signal.SIG_IGN)
        if server is not None:
            _stop_group(server)
        for signum, handler in before.items():
            signal.signal(signum, handler)
    if stopped_by is not None:
        raise KeyboardInterrupt  # the CLI says "interrupted" in one line, exit 130
    if server is not None and server.returncode not in (0, -signal.SIGTERM):
        raise TrackerError(f"the MLflow UI stopped with exit code {server.returncode}")


def _answers_within(server: subprocess.Popen[bytes], served: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{served}/health", timeout=2) as answer:
                if answer.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _stop_group(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's whole group, then SIGKILL to what is left after the grace period."""
    for signum, wait in ((signal.SIGTERM, GRACE_SECONDS), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(server.pid, signum)
        except ProcessLookupError:
            break  # the group is gone
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(server.pid):
            server.poll()
            time.sleep(0.1)
        if not _group_alive(server.pid):
            break
    server.poll()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
