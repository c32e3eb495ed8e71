"""Running one side of a benchmark in a fresh interpreter: its wall time and its own peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def in_child(module: str, call: str) -> tuple[float, int]:
    """Run ``call`` (with ``module`` imported as ``b``) in a fresh interpreter: wall seconds, imports
    included, and peak RSS in bytes.

    The parent stays small (standard library only), because Linux carries a parent's peak
    memory into a child's ru_maxrss across fork and exec.
    """
    code = (
        f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(ROOT / 'benchmarks')!r});"
        f"import {module} as b; {call}"
    )
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{call} failed with exit code {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss * 1024
