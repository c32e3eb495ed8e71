"""Secondary: per-trial tracking overhead measured inside one process, this project against MLflowCallback.

The figure users feel is bench_tracking.py's (whole processes, timed from outside); this
one isolates the cost of logging from the rest of the loop, and bench_tracking.py prints it
as its last line.

Both log to their own fresh SQLite MLflow store, both studies live in SQLite Optuna
storages, and both run the same objective: a real scikit-learn fit (standardised logistic
regression on the breast-cancer data) with the same seeded random sampler, so both sides
train exactly the same sequence of models. Each side's overhead is its sweep's wall time
with tracking minus the same sweep without tracking, divided by the number of trials:

* MLflowCallback: ``study.optimize(objective, callbacks=[MLflowCallback(...)])`` minus
  ``study.optimize(objective)``;
* this project: the ``tracker sweep`` loop with its MLflow record minus the same loop
  with a record that writes nothing.

Ours logs more per trial than the callback (val_/test_ metrics, intermediate steps,
duration, estimated cost, state, tags); the callback logs the value, params and tags.

The per-trial figure is the slope between a small and a large sweep, which separates
the cost of each trial from one-time costs (this project starts a writer process and
creates the sweep's parent run; the callback creates its experiment on the first trial).
Both are printed, with the plain average at the larger size.

BLAS runs one thread per process by default (``--blas-threads 1``), as in a ``--jobs``
worker and in most scikit-learn trainers (trees): on a 2-core machine a two-thread BLAS
in the sweep competes with this project's writer process for the second core, which
measures the machine, not the tracking. ``--blas-threads 2`` shows that case too.

Run: python benchmarks/bench_tracking.py [--trials 50 200] [--repeats 2] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


OBJECTIVE = {"trainer": "logistic_regression", "dataset": "breast_cancer", "metric": "f1", "direction": "maximize"}
SEED = 7


def _objective_config() -> Any:
    from tracker.config import ObjectiveConfig

    return ObjectiveConfig(**OBJECTIVE)


class NullRunStore:
    """A ``tracker.record.writes.RunRecord`` that writes nothing: the untracked side of the comparison."""

    tracking_uri = "none"

    def ensure_experiment(self, name: str) -> str:
        return "0"

    def find_sweep_run(self, experiment_id: str, study: str) -> str | None:
        return "parent"

    def resume_sweep_run(self, run_id: str) -> None:
        return None

    def create_sweep_run(self, experiment_id: str, study: str, **fields: Any) -> str:
        return "parent"

    def log_datasets(self, run_id: str, inputs: Any) -> None:
        pass

    def close_sweep_run(self, run_id: str, **fields: Any) -> None:
        return None

    def start_trial_run(self, start: Any) -> str:
        return "run"

    def finish_trial_run(self, run_id: str, end: Any) -> None:
        return None

    def mark_run(self, run_id: str, **fields: Any) -> None:
        return None

    def trial_runs(self, experiment_id: str, parent_run_id: str, *, status: str | None = None) -> list[Any]:
        return []


class NullRecorder:
    """A ``tracker.record.writer.TrialWriter`` that writes nothing."""

    def start(self, start: Any) -> None:
        return None

    def finish(self, number: int, end: Any) -> None:
        return None

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


def _fresh_mlflow_store(template: Path, folder: Path) -> str:
    shutil.copy(template, folder / "mlflow.db")
    return f"sqlite:///{folder / 'mlflow.db'}"


def run_callback_side(folder: Path, template: Path, trials: int, *, tracked: bool) -> float:
    import optuna
    from optuna_integration.mlflow import MLflowCallback

    from tuning.objective import BuiltinObjective

    storage = f"sqlite:///{folder / 'optuna.db'}"
    study = optuna.create_study(
        study_name=f"cb-{tracked}",
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=SEED),
    )
    trainer = BuiltinObjective(_objective_config(), None, seed=42)

    def objective_value(trial: Any) -> float:
        return trainer(trial).value

    callbacks = []
    if tracked:
        uri = _fresh_mlflow_store(template, folder)
        callbacks.append(MLflowCallback(tracking_uri=uri, metric_name="val_f1"))
    start = time.perf_counter()
    study.optimize(objective_value, n_trials=trials, callbacks=callbacks)
    return time.perf_counter() - start


def run_tracker_side(folder: Path, template: Path, trials: int, *, tracked: bool) -> float:
    from tracker.config import load_settings
    from tracker.record import Record
    from tracker.record.writer import TrialRecorder
    from tuning.loop import work
    from tuning.setup import open_sweep

    uri = _fresh_mlflow_store(template, folder)
    settings = load_settings(
        overrides={
            "experiment": f"ours-{tracked}",
            "objective": OBJECTIVE,
            "strategy": "random",
            "seed": SEED,
            "limits.max_trials": trials,
            "storage": f"sqlite:///{folder / 'optuna.db'}",
            "tracking_uri": uri,
        }
    )
    start = time.perf_counter()
    record = Record.open(uri).writes if tracked else NullRunStore()
    recorder = TrialRecorder(uri) if tracked else NullRecorder()
    sweep = open_sweep(settings, hourly_usd=Decimal("0.23"), worker_index=0, record=record, recorder=recorder)
    work(sweep, lambda event: None, started=time.monotonic())
    recorder.flush()  # every run written: the timing includes the whole record
    elapsed = time.perf_counter() - start
    recorder.close()
    return elapsed


def _measure(root: Path, template: Path, trials: int, repeats: int) -> dict[str, float]:
    figures: dict[str, list[float]] = {"cb_off": [], "cb_on": [], "ours_off": [], "ours_on": []}
    for repeat in range(repeats):
        # Alternate the order so drift on a shared machine does not favour one side.
        plan = [("cb", False), ("cb", True), ("ours", False), ("ours", True)]
        if repeat % 2:
            plan.reverse()
        for side, tracked in plan:
            folder = root / f"{side}-{tracked}-{trials}-{repeat}"
            folder.mkdir()
            run = run_callback_side if side == "cb" else run_tracker_side
            figures[f"{side}_{'on' if tracked else 'off'}"].append(run(folder, template, trials, tracked=tracked))
    return {k: statistics.median(v) for k, v in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--trials",
        type=int,
        nargs=2,
        default=[50, 200],
        metavar=("SMALL", "LARGE"),
        help="two sweep sizes; the per-trial overhead is the slope between them",
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args()
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.blas_threads)  # before numpy is imported, below
    small, large = args.trials

    import optuna
    from mlflow.tracking import MlflowClient

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    os.environ.setdefault("MLFLOW_ENABLE_TELEMETRY", "false")
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        (root / "template").mkdir()
        MlflowClient(f"sqlite:///{root / 'template' / 'mlflow.db'}").search_experiments()
        template = root / "template" / "mlflow.db"
        at = {n: _measure(root, template, n, args.repeats) for n in (small, large)}

    def overhead(side: str, n: int) -> float:
        return at[n][f"{side}_on"] - at[n][f"{side}_off"]

    print(
        f"sweeps of {small} and {large} trials, medians of {args.repeats} runs each, same objective and sampler, "
        f"BLAS threads {args.blas_threads}"
    )
    for n in (small, large):
        m = at[n]
        print(
            f"  {n:>4} trials  MLflowCallback: {m['cb_on']:.2f} s tracked, {m['cb_off']:.2f} s untracked;"
            f"  tracker: {m['ours_on']:.2f} s tracked, {m['ours_off']:.2f} s untracked"
        )
    rows = []
    for label, side in (("optuna_integration.MLflowCallback", "cb"), ("tracker sweep (this project)", "ours")):
        per_trial = (overhead(side, large) - overhead(side, small)) / (large - small) * 1000
        fixed = overhead(side, large) - per_trial / 1000 * large
        average = overhead(side, large) / large * 1000
        rows.append((label, per_trial, fixed, average))
        print(
            f"{label:<34} per trial {per_trial:6.1f} ms  (fixed cost {fixed:5.2f} s;"
            f" overhead / trials at {large}: {average:.1f} ms)"
        )
    (_, cb_slope, _, cb_avg), (_, our_slope, _, our_avg) = rows
    # Ours writes from a second process while the next trial trains, so its slope is often
    # within the noise of zero (even below it); the whole-sweep overhead is the steadier line.
    print(f"ratio per trial (ours / MLflowCallback): {our_slope / cb_slope:.2f}")
    print(f"ratio of whole-sweep overhead at {large} trials: {our_avg / cb_avg:.2f}")


if __name__ == "__main__":
    main()
