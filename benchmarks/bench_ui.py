"""How long until the MLflow UI answers, as a user waits for it: ``tracker ui`` against
``mlflow ui`` started the same way on the same store, in one run.

Both are started as whole processes from outside, on a copy of one swept SQLite store (a
default sweep of 20 trials), and timed from the start of the process to the first answer of
``/health``. Then each is stopped with SIGTERM, and the time until every process of the
server is gone is timed too. ``tracker ui`` starts one server worker (``--workers 1``, its
default); ``mlflow ui`` its own default of four. The sides alternate between repeats;
medians are printed with their ratio. Goal: ``tracker ui`` answering within 15 s on an idle
2-core machine.

Run: python benchmarks/bench_ui.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 15.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _marked(mark: str) -> int:
    """How many live processes carry ``mark`` in their environment (a server and its workers)."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "environ").read_bytes():
                    state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    count += state != "Z"
            except OSError:
                continue
    return count


def _time_one(command: list[str], folder: Path, port: int) -> tuple[float, float]:
    """Seconds from start to the first answer, and from SIGTERM until no process is left."""
    mark = f"BENCH_UI_{uuid.uuid4().hex}"
    started = time.perf_counter()
    # Its own session, as a terminal would give it, so SIGTERM goes to the command alone.
    proc = subprocess.Popen(
        command,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, mark: "1"},
    )
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"{command[:4]} exited with {proc.returncode} before answering") from None
            time.sleep(0.1)
    answered = time.perf_counter() - started
    stopping = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 60
    while _marked(mark) and time.monotonic() < deadline:
        proc.poll()
        time.sleep(0.05)
    gone = time.perf_counter() - stopping
    left = _marked(mark)
    if left:  # mlflow ui's workers outlived it: stop them, and say so
        os.killpg(proc.pid, signal.SIGKILL)
        print(f"  note: {left} process(es) of {' '.join(command[2:4])} outlived SIGTERM by 60 s")
    proc.wait(timeout=30)
    return answered, gone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run([sys.executable, "-m", "tracker", "sweep", "--quiet"], cwd=folder, check=True)
        store = f"sqlite:///{folder / 'mlflow.db'}"
        sides = {
            "tracker ui": lambda port: [sys.executable, "-m", "tracker", "ui", "--tracking-uri", store, "--port", port],
            "mlflow ui": lambda port: [
                str(Path(sys.executable).with_name("mlflow")),
                "ui",
                "--backend-store-uri",
                store,
                "--port",
                port,
            ],
        }
        answer: dict[str, list[float]] = {name: [] for name in sides}
        stop: dict[str, list[float]] = {name: [] for name in sides}
        for repeat in range(args.repeats):
            order = list(sides) if repeat % 2 == 0 else list(reversed(sides))
            for name in order:
                port = str(_free_port())
                a, s = _time_one(sides[name](port), folder, int(port))
                answer[name].append(a)
                stop[name].append(s)
                print(f"  {name}: answered after {a:.2f} s, all processes gone {s:.2f} s after SIGTERM")
    ours, peer = (statistics.median(answer[n]) for n in sides)
    ratio = ours / peer
    print(f"answering: tracker ui {ours:.2f} s, mlflow ui {peer:.2f} s (ratio {ratio:.2f}x); goal <= {GOAL_SECONDS} s")
    ours_stop, peer_stop = (statistics.median(stop[n]) for n in sides)
    print(f"stopping:  tracker ui {ours_stop:.2f} s, mlflow ui {peer_stop:.2f} s (ratio {ours_stop / peer_stop:.2f}x)")


if __name__ == "__main__":
    main()
