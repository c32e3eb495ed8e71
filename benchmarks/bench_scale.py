"""Trials per minute with 1 and with 2 worker processes (``tracker sweep --jobs``), on one machine.

The objective is CPU-bound: a real scikit-learn fit of about a second (a random forest on
the digits data, one thread). Both sweeps run the same number of trials in the same
storage kind (SQLite Optuna storage, SQLite MLflow store) through the CLI, one after the
other in this run. Throughput is finished trials per minute between the first trial's
start and the last trial's end, from Optuna's own timestamps; the whole command's wall
time is printed too. Goal: a speed-up of at least 1.8x with 2 workers on 2 cores.

Run: python benchmarks/bench_scale.py [--trials 40]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OBJECTIVE = """
def objective(trial):
    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import cross_val_score

    x, y = load_digits(return_X_y=True)
    trees = trial.suggest_int("n_estimators", 180, 180)
    depth = trial.suggest_int("max_depth", 8, 16)
    model = RandomForestClassifier(n_estimators=trees, max_depth=depth, n_jobs=1, random_state=0)
    return float(cross_val_score(model, x, y, cv=3).mean())
"""


def sweep(folder: Path, jobs: int, trials: int) -> tuple[float, float]:
    """(trials per minute from Optuna's timestamps, whole command wall seconds)."""
    import optuna

    folder.mkdir()
    (folder / "cpuobjective.py").write_text(OBJECTIVE)
    (folder / "scale.yaml").write_text(
        "experiment: scale\nstrategy: random\n"
        "objective: {function: 'cpuobjective:objective', metric: accuracy, direction: maximize}\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MLFLOW_ENABLE_TELEMETRY": "false"}
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker",
            "sweep",
            "--config",
            "scale.yaml",
            "--trials",
            str(trials),
            "--jobs",
            str(jobs),
            "--quiet",
        ],
        cwd=folder,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="scale", storage=f"sqlite:///{folder / 'optuna.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == trials, f"{len(done)} trials finished, wanted {trials}"
    first = min(t.datetime_start for t in done)
    last = max(t.datetime_complete for t in done)
    return len(done) / ((last - first).total_seconds() / 60), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        one, one_wall = sweep(root / "one", 1, args.trials)
        two, two_wall = sweep(root / "two", 2, args.trials)
    print(f"{args.trials} trials of a ~1 s random-forest fit, {os.cpu_count()} cores")
    print(f"1 worker:  {one:6.1f} trials/min  (command {one_wall:5.1f} s)")
    print(f"2 workers: {two:6.1f} trials/min  (command {two_wall:5.1f} s)")
    print(f"speed-up: {two / one:.2f}x (goal >= 1.8x); whole command: {one_wall / two_wall:.2f}x")


if __name__ == "__main__":
    main()
