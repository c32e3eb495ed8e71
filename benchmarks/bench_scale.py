"""Trials per minute with 1 and 2 workers: local processes (``--jobs``) and Ray tasks (``--backend ray``).

The objective is CPU-bound: a real scikit-learn fit of about a second (a random forest on
the digits data, one thread). Every sweep runs the same number of trials in the same
storage kind (SQLite Optuna storage with heartbeats, SQLite MLflow store) through the CLI.
The Ray sweeps start a Ray cluster of this machine for the sweep, as ``execution.backend:
ray`` with no address does. Beside them, the machine's own ceiling: the same objective
called in 1 and 2 plain processes, with no Optuna storage, MLflow or Ray.

Each repeat runs all six in a rotated order, so a machine that drifts faster or slower
during the run does not favour one side; the figures are medians over the repeats.

Throughput is measured two ways from Optuna's own timestamps (the plain processes keep
the same timestamps themselves):

* steady: the middle half of the sweep, from the end of the trial a quarter of the way
  through to the end of the one three quarters through. By then every process of the sweep
  has started (each worker imports MLflow and starts its MLflow writer, seconds of CPU that
  a sweep pays once whatever its length), and the tail (one worker idle while the other
  ends the last trial) has not come. The goals are judged on it.
* overall: all trials between the first trial's start and the last trial's end.

The whole command's wall time is printed too (Ray's includes starting the cluster).
Goals on 2 cores: at least 1.8x with 2 Ray workers over 1; Ray within 10% of local
processes at 2 workers.

Run: python benchmarks/bench_scale.py [--trials 80] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

OBJECTIVE = """
def objective(trial):
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    x, y = load_digits(return_X_y=True)
    trees = trial.suggest_int("n_estimators", 60, 60)
    depth = trial.suggest_int("max_depth", 8, 16)
    model = RandomForestClassifier(n_estimators=trees, max_depth=depth, n_jobs=1, random_state=0)
    return float(cross_val_score(model, x, y, cv=3).mean())
"""

SIDES = (("plain", 1), ("plain", 2), ("local", 1), ("local", 2), ("ray", 1), ("ray", 2))
NAMES = {"plain": "plain processes", "local": "local processes", "ray": "Ray workers"}


@dataclass(frozen=True)
class Measured:
    steady: float  # trials per minute in the sweep's middle half
    overall: float  # trials per minute from the first start to the last end
    trial_seconds: float  # mean time of one trial
    wall: float  # the whole command, seconds


# A trial as the throughput figures see it: its start and end.
Span = tuple[datetime, datetime]


def throughput(spans: list[Span], wall: float) -> Measured:
    ends = sorted(end for _, end in spans)
    quarter, three_quarters = len(ends) // 4, 3 * len(ends) // 4
    steady = (three_quarters - quarter) / (ends[three_quarters] - ends[quarter]).total_seconds()
    first = min(start for start, _ in spans)
    overall = len(spans) / (ends[-1] - first).total_seconds()
    mean = statistics.mean((end - start).total_seconds() for start, end in spans)
    return Measured(steady * 60, overall * 60, mean, wall)


def sweep(folder: Path, backend: str, workers: int, trials: int) -> Measured:
    """One ``tracker sweep`` through the CLI, measured from its study."""
    import optuna

    folder.mkdir()
    (folder / "cpuobjective.py").write_text(OBJECTIVE)
    (folder / "scale.yaml").write_text(
        "experiment: scale\nstrategy: random\nstorage: sqlite:///optuna.db\n"
        "objective: {function: 'cpuobjective:objective', metric: accuracy, direction: maximize}\n"
    )
    command = [sys.executable, "-m", "tracker", "sweep", "--config", "scale.yaml", "--trials", str(trials)]
    command += ["--backend", backend, "--workers", str(workers), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_ENABLE_TELEMETRY": "false"}
    start = time.perf_counter()
    subprocess.run(command, cwd=folder, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="scale", storage=f"sqlite:///{folder / 'optuna.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == trials, f"{len(done)} trials finished, wanted {trials}"
    return throughput([(t.datetime_start, t.datetime_complete) for t in done], wall)


def _plain_worker(count: int) -> list[Span]:
    """``count`` calls of the objective in this process, each with its own timestamps."""
    import optuna

    namespace: dict[str, object] = {}
    exec(OBJECTIVE, namespace)
    objective = namespace["objective"]
    spans = []
    for number in range(count):
        trial = optuna.trial.FixedTrial({"n_estimators": 60, "max_depth": 8 + number % 9})
        start = datetime.now()
        objective(trial)  # type: ignore[operator]
        spans.append((start, datetime.now()))
    return spans


def plain(workers: int, trials: int) -> Measured:
    """The machine's ceiling: the objective alone in ``workers`` processes started for it."""
    start = time.perf_counter()
    shares = [trials // workers + (index < trials % workers) for index in range(workers)]
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        spans = [span for own in pool.map(_plain_worker, shares, chunksize=1) for span in own]
    return throughput(spans, time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "1"  # the plain processes, as the sweeps' workers
    runs: dict[tuple[str, int], list[Measured]] = {side: [] for side in SIDES}
    with tempfile.TemporaryDirectory() as root_name:
        for repeat in range(args.repeat):
            for backend, workers in SIDES[repeat % len(SIDES) :] + SIDES[: repeat % len(SIDES)]:
                if backend == "plain":
                    measured = plain(workers, args.trials)
                else:
                    measured = sweep(Path(root_name) / f"{backend}-{workers}-{repeat}", backend, workers, args.trials)
                runs[backend, workers].append(measured)
    median = {side: _median(measured) for side, measured in runs.items()}
    print(f"{args.trials} trials of a ~1 s random-forest fit, {os.cpu_count()} cores, medians of {args.repeat}")
    print(f"{'':19} {'steady':>8} {'overall':>8} {'trial':>7} {'command':>8}")
    for (backend, workers), m in median.items():
        print(
            f"{workers} {NAMES[backend] + ':':17} {m.steady:6.1f}/m {m.overall:6.1f}/m "
            f"{m.trial_seconds:6.2f}s {m.wall:7.1f}s"
        )
    for backend, goal in (("plain", "the machine's ceiling"), ("local", "no goal"), ("ray", "goal >= 1.8x")):
        one, two = median[backend, 1], median[backend, 2]
        print(
            f"{NAMES[backend]}, 2 workers over 1: steady {two.steady / one.steady:.2f}x, "
            f"overall {two.overall / one.overall:.2f}x ({goal})"
        )
    ray_two, local_two = median["ray", 2], median["local", 2]
    print(
        f"Ray vs local processes at 2 workers: steady {ray_two.steady / local_two.steady:.2f}x, "
        f"overall {ray_two.overall / local_two.overall:.2f}x (goal >= 0.90x)"
    )


def _median(measured: list[Measured]) -> Measured:
    return Measured(
        *(statistics.median(getattr(m, field) for m in measured) for field in Measured.__dataclass_fields__)
    )


if __name__ == "__main__":
    main()
