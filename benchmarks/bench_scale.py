"""Trials per minute with 1 and 2 workers: local processes (``--jobs``) and Ray tasks (``--backend ray``).

The objective is CPU-bound: a real scikit-learn fit of about a second (a random forest on
the digits data, one thread). Every sweep runs the same number of trials in the same
storage kind (SQLite Optuna storage with heartbeats, SQLite MLflow store) through the CLI,
one after the other in this run. The Ray sweeps start a Ray cluster of this machine for
the sweep, as ``execution.backend: ray`` with no address does. Throughput is finished trials
per minute between the first trial's start and the last trial's end, from Optuna's own
timestamps; the whole command's wall time is printed too (Ray's includes starting the
cluster). Goals on 2 cores: at least 1.8x with 2 workers over 1, for each backend; Ray
within 10% of local processes at 2 workers.

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
    trees = trial.suggest_int("n_estimators", 60, 60)
    depth = trial.suggest_int("max_depth", 8, 16)
    model = RandomForestClassifier(n_estimators=trees, max_depth=depth, n_jobs=1, random_state=0)
    return float(cross_val_score(model, x, y, cv=3).mean())
"""


def sweep(folder: Path, backend: str, workers: int, trials: int) -> tuple[float, float]:
    """(trials per minute from Optuna's timestamps, whole command wall seconds)."""
    import optuna

    folder.mkdir()
    (folder / "cpuobjective.py").write_text(OBJECTIVE)
    (folder / "scale.yaml").write_text(
        "experiment: scale\nstrategy: random\nstorage: sqlite:///optuna.db\n"
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
            "--backend",
            backend,
            "--workers",
            str(workers),
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
    results: dict[tuple[str, int], tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        for backend in ("local", "ray"):
            for workers in (1, 2):
                results[backend, workers] = sweep(root / f"{backend}-{workers}", backend, workers, args.trials)
    print(f"{args.trials} trials of a ~1 s random-forest fit, {os.cpu_count()} cores")
    for (backend, workers), (rate, wall) in results.items():
        name = "local processes" if backend == "local" else "Ray workers"
        print(f"{workers} {name + ':':17} {rate:6.1f} trials/min  (command {wall:5.1f} s)")
    for backend in ("local", "ray"):
        one, two = results[backend, 1][0], results[backend, 2][0]
        print(f"{backend}: 2 workers over 1: {two / one:.2f}x (goal >= 1.8x)")
    ray_two, local_two = results["ray", 2][0], results["local", 2][0]
    print(f"Ray vs local processes at 2 workers: {ray_two / local_two:.2f}x (goal >= 0.90x)")


if __name__ == "__main__":
    main()
