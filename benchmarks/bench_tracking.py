"""Tracking overhead and start-up as a user feels them: whole ``tracker sweep`` processes against
Optuna scripts that log to MLflow the usual ways, timed from outside, in one run.

Every side runs the same trivial objective (``userfn:objective``, one ``suggest_float``),
so the time is the tracking and the storage, not training; and the same seeded random
sampler; and logs to a fresh copy of the same initialised SQLite MLflow store:

* ``tracker sweep`` (this project): its default stores, an Optuna journal file (fsynced on
  every append, as durable as the SQLite peer) and the MLflow record written by its writer
  process; and, for comparison, the same with ``--storage sqlite:///optuna.db``;
* Optuna + ``optuna_integration.MLflowCallback``, with an in-memory study, an SQLite study
  and a journal-file study;
* Optuna with ``mlflow.optuna.MlflowStorage`` (the study kept in MLflow itself).

The per-trial figure is the slope between two sizes (10 and 110 trials by default): the
difference of two whole-process wall times over the difference of trials, so one-time
costs (imports, stores opened, a writer started) cancel. ``MlflowStorage`` is slow enough
that it is timed at 10 and 30 trials. Start-up is ``--trials 1`` for ours and the SQLite
peer. Then the same comparison with a built-in trainer (standardised logistic regression
on the breast-cancer data, the peer calling the same trainer), ``python -m tracker --help``
against a bare ``python -c pass``, and, as a secondary line, the old in-process figure.
Last, growth: ours from 1,000 to 2,000 trials against its 10 -> 110 slope (goal <= 1.2).

BLAS and threads are left as the machine has them. Medians of ``--repeats`` runs, the
order of the sides alternated between repeats.

Run: python benchmarks/bench_tracking.py [--trials 10 110] [--repeats 2] [--growth 1000 2000 | --no-growth]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

USER_FUNCTION = "def objective(trial):\n    return trial.suggest_float('x', 0.0, 1.0)\n"
PEER = """
import sys
import optuna
from optuna_integration.mlflow import MLflowCallback

kind, trials, folder, objective_kind = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
optuna.logging.set_verbosity(optuna.logging.WARNING)
uri = f"sqlite:///{folder}/mlflow.db"
sampler = optuna.samplers.RandomSampler(seed=7)
if objective_kind == "function":
    sys.path.insert(0, folder)
    from userfn import objective
else:
    from tracker.config import ObjectiveConfig
    from tuning.objective import BuiltinObjective
    trainer = BuiltinObjective(ObjectiveConfig(trainer="logistic_regression"), None, seed=7)
    def objective(trial):
        return trainer(trial).value
if kind == "mlflow-storage":
    import mlflow
    from mlflow.optuna.storage import MlflowStorage
    mlflow.set_tracking_uri(uri)
    experiment = mlflow.MlflowClient(uri).create_experiment("peer")
    storage = MlflowStorage(experiment_id=experiment)
    study = optuna.create_study(study_name="peer", storage=storage, direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=trials)
else:
    if kind == "journal":
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend
        storage = JournalStorage(JournalFileBackend(f"{folder}/optuna.log"))
    else:
        storage = {"memory": None, "sqlite": f"sqlite:///{folder}/optuna.db"}[kind]
    study = optuna.create_study(study_name="peer", storage=storage, direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=trials, callbacks=[MLflowCallback(tracking_uri=uri, metric_name="val_x")])
"""
OURS = "tracker sweep (journal study + MLflow)"
SIDES = {
    OURS: ("ours", None),
    "tracker sweep --storage sqlite:///optuna.db": ("ours", "sqlite:///optuna.db"),
    "Optuna + MLflowCallback, in-memory study": ("peer", "memory"),
    "Optuna + MLflowCallback, SQLite study": ("peer", "sqlite"),
    "Optuna + MLflowCallback, journal-file study": ("peer", "journal"),
    "Optuna + mlflow.optuna.MlflowStorage": ("peer", "mlflow-storage"),
}


def _folder(root: Path, template: Path) -> Path:
    folder = Path(tempfile.mkdtemp(dir=root))
    shutil.copy(template, folder / "mlflow.db")
    (folder / "userfn.py").write_text(USER_FUNCTION)
    (folder / "peer.py").write_text(PEER)
    (folder / "c.yaml").write_text(
        "experiment: ours\nstrategy: random\nseed: 7\n"
        "objective: {function: 'userfn:objective', metric: x, direction: maximize}\n"
    )
    (folder / "trainer.yaml").write_text(
        "experiment: ours\nstrategy: random\nseed: 7\nobjective: {trainer: logistic_regression, metric: f1}\n"
    )
    return folder


def _wall(command: list[str], folder: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr[-1500:]}")
    return elapsed


def run_side(root: Path, template: Path, side: tuple[str, str | None], trials: int, objective: str) -> float:
    """One whole process, in a fresh folder: its wall time in seconds."""
    folder = _folder(root, template)
    who, kind = side
    if who == "ours":
        config = "c.yaml" if objective == "function" else "trainer.yaml"
        command = [sys.executable, "-m", "tracker", "sweep", "--config", config, "--trials", str(trials), "--quiet"]
        if kind is not None:
            command += ["--storage", kind]
    else:
        command = [sys.executable, "peer.py", str(kind), str(trials), str(folder), objective]
    return _wall(command, folder)


def _medians(root: Path, template: Path, plan: list[tuple[str, int, str]], repeats: int) -> dict[tuple, float]:
    times: dict[tuple, list[float]] = {key: [] for key in plan}
    for repeat in range(repeats):
        for key in plan if repeat % 2 == 0 else list(reversed(plan)):
            name, trials, objective = key
            times[key].append(run_side(root, template, SIDES[name], trials, objective))
    return {key: statistics.median(values) for key, values in times.items()}


def _slopes(root: Path, template: Path, sizes: tuple[int, int], repeats: int, objective: str) -> dict[str, float]:
    names = [n for n in SIDES if objective == "function" or SIDES[n][1] in (None, "sqlite", "memory")]
    return _slopes_of(root, template, names, sizes, repeats, objective)


def _slopes_of(
    root: Path, template: Path, names: list[str], sizes: tuple[int, int], repeats: int, objective: str
) -> dict[str, float]:
    small, large = sizes
    plan = []
    for name in names:
        low, high = (small, 30) if SIDES[name][1] == "mlflow-storage" else (small, large)
        plan += [(name, low, objective), (name, high, objective)]
    walls = _medians(root, template, plan, repeats)
    slopes = {}
    for name in names:
        (low, high) = [trials for (n, trials, o) in plan if n == name]
        slopes[name] = (walls[(name, high, objective)] - walls[(name, low, objective)]) / (high - low) * 1000
    return slopes


def _print_table(title: str, slopes: dict[str, float]) -> None:
    ours = slopes[OURS]
    print(title)
    for name, per_trial in slopes.items():
        ratio = "" if name == OURS else f"   ours / this: {ours / per_trial:5.2f}"
        print(f"  {name:<46} {per_trial:8.1f} ms/trial{ratio}")


# Start-up on the same stores: our default against the peer's journal study, and our
# SQLite study against the peer's.
STARTUP_PAIRS = [
    (OURS, "Optuna + MLflowCallback, journal-file study"),
    ("tracker sweep --storage sqlite:///optuna.db", "Optuna + MLflowCallback, SQLite study"),
]


def _startup(root: Path, template: Path, repeats: int) -> list[tuple[str, float, str, float]]:
    plan = [(name, 1, "function") for pair in STARTUP_PAIRS for name in pair]
    walls = _medians(root, template, plan, repeats)
    return [(ours, walls[(ours, 1, "function")], peer, walls[(peer, 1, "function")]) for ours, peer in STARTUP_PAIRS]


def _help(repeats: int) -> tuple[float, float]:
    def median_of(command: list[str]) -> float:
        return statistics.median(_wall(command, ROOT) for _ in range(max(repeats, 5)))

    return median_of([sys.executable, "-m", "tracker", "--help"]), median_of([sys.executable, "-c", "pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, nargs=2, default=[10, 110], metavar=("SMALL", "LARGE"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--growth", type=int, nargs=2, default=[1000, 2000], metavar=("FROM", "TO"))
    parser.add_argument("--no-growth", action="store_true", help="skip the 1,000 -> 2,000 trial growth check")
    args = parser.parse_args()
    sizes = (args.trials[0], args.trials[1])
    with tempfile.TemporaryDirectory() as root_name:
        root = Path(root_name)
        template = root / "template.db"
        subprocess.run(
            [sys.executable, "-c", f"from mlflow.tracking import MlflowClient; MlflowClient('sqlite:///{template}')"
             ".search_experiments()"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        function = _slopes(root, template, sizes, args.repeats, "function")
        trainer = _slopes(root, template, sizes, args.repeats, "trainer")
        # A one-trial run is short and noisy: at least five repeats, as for --help.
        startups = _startup(root, template, max(args.repeats, 5))
        grown = None
        if not args.no_growth:
            growth = (args.growth[0], args.growth[1])
            grown = _slopes_of(root, template, [OURS], growth, args.repeats, "function")[OURS]
    help_time, bare = _help(args.repeats)
    print(f"whole processes timed from outside, {sizes[0]} -> {sizes[1]} trials, medians of {args.repeats} runs "
          f"(start-up and --help: of {max(args.repeats, 5)})")  # fmt: skip
    _print_table("trivial module:function objective (the overhead itself):", function)
    _print_table("built-in trainer (logistic regression on breast cancer):", trainer)
    sqlite_peer = function["Optuna + MLflowCallback, SQLite study"]
    memory_peer = function["Optuna + MLflowCallback, in-memory study"]
    ours = function[OURS]
    print(f"goal: ours <= 0.5x the SQLite peer ({ours / sqlite_peer:.2f}x), <= 1.0x the in-memory peer "
          f"({ours / memory_peer:.2f}x)")  # fmt: skip
    for ours_name, ours_start, peer_name, peer_start in startups:
        print(f"start-up (--trials 1): {ours_name} {ours_start:.2f} s, {peer_name} {peer_start:.2f} s, "
              f"ratio {ours_start / peer_start:.2f} (goal <= 1.2)")  # fmt: skip
    print(f"python -m tracker --help {help_time:.3f} s, python -c pass {bare:.3f} s, ratio {help_time / bare:.2f} "
          "(goal <= 3)")  # fmt: skip
    secondary = (
        subprocess.run(
            [sys.executable, str(HERE / "bench_tracking_in_process.py"), "--trials", "50", "200", "--repeats", "3"],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()
    )
    if grown is not None:
        print(f"growth: ours {grown:.1f} ms/trial from {args.growth[0]} to {args.growth[1]} trials against {ours:.1f} "
              f"from {sizes[0]} to {sizes[1]}, ratio {grown / ours:.2f} (goal <= 1.2)")  # fmt: skip
    print(f"secondary, in one process (bench_tracking_in_process.py, BLAS 1 thread): {secondary[-2]}; "
          f"{secondary[-1]}")  # fmt: skip


if __name__ == "__main__":
    main()
