"""``tracker sweep``: run an Optuna sweep and record every trial as an MLflow run."""

from __future__ import annotations

import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.cli._group import INTERRUPTED, cli, interrupted
from tracker.cli._options import common, echo_links, load
from tracker.errors import TrackerError, UsageError
from tracker.record.layout import TEST_PREFIX

if TYPE_CHECKING:
    from tracker.config import Settings
    from tuning.identity import StudyChoice
    from tuning.sweep import SweepEvent, SweepSummary


@cli.command()
@common
@click.option(
    "--experiment",
    help=(
        "MLflow experiment name (default: $MLFLOW_EXPERIMENT_NAME, the config's experiment or its file "
        "name, or tracker-demo)."
    ),
)
@click.option("--study", help="Optuna study name (default: the experiment name).")
@click.option(
    "--trials", type=click.IntRange(min=1), help="Finished trials the study should reach (limits.max_trials)."
)
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Stop starting trials after this many seconds."
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes on this machine (limits.max_parallel).")
@click.option(
    "--backend",
    type=click.Choice(["local", "ray"]),
    help="Where the workers run: processes on this machine, or tasks on a Ray cluster (execution.backend).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Trials at once (execution.workers; on Ray, default: the cluster's CPUs / execution.cpus_per_trial).",
)
@click.option("--strategy", type=click.Choice(["bayesian", "random", "grid", "hyperband"]), help="Search strategy.")
@click.option(
    "--storage",
    help="Optuna storage: a journal file's path or a database URL (default: optuna.journal; "
    "an earlier sweep's optuna.db is still used where it is the only study).",
)
@click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).")
@click.option("--seed", type=int, help="Seed for the data split, the models and the sampler.")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@click.option(
    "--new-study", is_flag=True,
    help="When the study was made for another objective (trainer, function, data, metric, direction or "
    "search space): start a study of its own beside it, named <study>-<digest>.",
)  # fmt: skip
@click.option(
    "--resume-anyway",
    is_flag=True,
    help="When the study was made for another objective: add this sweep's trials to it.",
)
def sweep(config_file: Path | None, quiet: bool, new_study: bool, resume_anyway: bool, **flags: Any) -> None:
    """Run an Optuna sweep and record every trial as an MLflow run.

    With no flags: a 20-trial random-forest sweep on scikit-learn's breast-cancer
    dataset, stored in ./mlflow.db and ./optuna.journal. Rerunning resumes the study;
    --trials N is the total of finished trials it should reach. A study made for another
    objective is never joined silently: the sweep stops (exit 2) unless --new-study or
    --resume-anyway says what to do.
    """
    if new_study and resume_anyway:
        raise UsageError("--new-study and --resume-anyway contradict each other; choose one")
    settings = load(
        config_file,
        {
            "experiment": flags["experiment"],
            "study": flags["study"],
            "limits.max_trials": flags["trials"],
            "limits.max_runtime_seconds": flags["timeout"],
            "limits.max_parallel": flags["jobs"],
            "execution.backend": flags["backend"],
            "execution.workers": flags["workers"],
            "strategy": flags["strategy"],
            "storage": flags["storage"],
            "tracking_uri": flags["tracking_uri"],
            "seed": flags["seed"],
        },
    )
    from tracker.record.writer import TrialRecorder

    # The writer process starts now, so its import of MLflow overlaps this one's.
    recorder = TrialRecorder(settings.tracking_uri)
    try:
        import optuna

        from tracker.library import run_sweep
        from tuning.sweep import SweepInterrupted
    except BaseException:
        recorder.close()
        raise
    # Optuna's per-trial INFO lines would interleave with our own progress lines.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # SIGTERM (kill, systemd, Kubernetes, batch schedulers) stops the sweep as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    progress = _Progress(quiet=quiet, target=settings.limits.max_trials)
    try:
        with progress:
            source = str(config_file) if config_file is not None else None
            choice: StudyChoice = "new" if new_study else ("resume" if resume_anyway else "check")
            summary = run_sweep(settings, on_event=progress.update, recorder=recorder, source_file=source,
                                study_choice=choice)  # fmt: skip
    except SweepInterrupted as exc:
        _print_summary(exc.summary, settings)
        click.echo("interrupted: the sweep's parent run is KILLED; rerun the same command to continue", err=True)
        sys.exit(INTERRUPTED)
    except KeyboardInterrupt:
        click.echo("interrupted before the first trial; nothing was recorded", err=True)
        sys.exit(INTERRUPTED)
    _print_summary(summary, settings)
    _judge(summary, settings, progress.failures)


def _judge(summary: SweepSummary, settings: Settings, failures: list[str]) -> None:
    """Exit 1 when no trial completed, or more of this run's trials failed than ``limits.max_failed_trials``
    allows (a trial an earlier, killed run left behind was said when it was repaired, and is not counted)."""
    if summary.best is None:
        if summary.first_error:
            raise TrackerError(f"every trial failed; the first error was: {summary.first_error}")
        raise TrackerError(f"no trial completed ({summary.stop_reason}); raise the limit and rerun")
    allowed = settings.limits.max_failed_trials
    if len(failures) > allowed:
        raise TrackerError(
            f"{len(failures)} trial(s) failed (the first: {failures[0]}); fix the objective, or allow "
            f"failures with limits.max_failed_trials (now {allowed})"
        )


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


class _Progress:
    """A progress bar on a terminal, plain lines elsewhere, nothing with --quiet."""

    def __init__(self, *, quiet: bool, target: int) -> None:
        self.quiet = quiet
        self.target = target
        self.bar: Any = None
        self.task: Any = None
        self.tty = sys.stdout.isatty()
        self.failures: list[str] = []  # this run's failed trials, each as "ValueError: ..."

    def __enter__(self) -> _Progress:
        if self.quiet or not self.tty:
            return self
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from tracker.cli._options import console

        self.bar = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            console=console(),
        )
        self.bar.start()
        self.task = self.bar.add_task("sweep", total=self.target, best="-")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, event: SweepEvent) -> None:
        if interrupted():
            # A Ctrl-C that a library swallowed while the sweep started: honoured at the first event.
            raise KeyboardInterrupt
        if event.kind == "trial" and event.state == "FAIL":
            # Why a trial failed is never hidden behind the progress bar, nor by --quiet.
            self.failures.append(event.message or "no reason recorded")
            line = f"trial {event.number} failed: {self.failures[-1]}"
            if self.bar is not None:
                self.bar.console.print(line, style="red", markup=False, highlight=False)
            else:
                click.echo(line)  # beside the progress lines and the summary; stderr keeps the one error line
            if self.bar is None:
                return
        if self.quiet:
            return
        if event.kind == "info":
            if self.bar is not None:
                self.bar.console.print(f"[yellow]{event.message}")
            else:
                click.echo(f"note: {event.message}")
            return
        best = "-" if event.best_value is None else f"{event.best_value:.4g}"
        if self.bar is not None:
            self.bar.update(self.task, completed=event.finished, total=event.target, best=best)
            return
        value = "" if event.value is None else f" value={event.value:.4g}"
        click.echo(f"trial {event.number}: {event.state}{value}  finished {event.finished}/{event.target}  best {best}")


def _print_summary(summary: SweepSummary, settings: Settings) -> None:
    counts = ", ".join(f"{n} {state.lower()}" for state, n in summary.counts.items()) or "no trials"
    click.echo(f"Sweep {summary.study!r} stopped: {summary.stop_reason} ({summary.elapsed_seconds:.1f} s)")
    click.echo(f"  trials: {counts}")
    best = summary.best
    if best is not None:
        click.echo(f"  best trial: #{best.number}  {summary.metric_key} = {best.value:.6g}")
        shown = {k: v for k, v in sorted(best.metrics.items()) if k.startswith(TEST_PREFIX)}
        if shown:
            # A classifier's counts and rates here are at 0.5; the ROI report chooses its own threshold.
            label = "test at the default threshold 0.5" if f"{TEST_PREFIX}tp" in shown else "test"
            click.echo(f"    {label}: " + "  ".join(f"{k.removeprefix(TEST_PREFIX)} {v:.4g}" for k, v in shown.items()))
        if best.params:
            click.echo("    params: " + ", ".join(f"{k}={_fmt(v)}" for k, v in best.params.items()))
        click.echo(f"    MLflow run: {best.run_id}")
    if summary.pareto:
        click.echo(f"  Pareto-optimal trials (metric vs cost): {', '.join(map(str, summary.pareto))}")
    click.echo(f"  parent run: {summary.parent_run_id} in experiment {summary.experiment!r}")
    if summary.champion_version:
        click.echo(f"  champion: model {summary.experiment!r} version {summary.champion_version} (alias champion)")
    spent = summary.cost_usd_estimated.quantize(Decimal("0.0001"))
    click.echo(f"  estimated cost: {spent} USD ({_priced_as(summary, settings)})")
    for note in summary.notes:
        click.echo(f"  note: {note}")
    _echo_links(summary)


def _priced_as(summary: SweepSummary, settings: Settings) -> str:
    execution = settings.execution
    if execution.backend == "ray" and execution.instance_type is not None:
        return (
            f"estimated, each trial as its share of its Ray node: {execution.instance_type}, or the type the "
            "node's instance-type label names (each run's tracker.instance_type)"
        )
    return (
        f"estimated, {settings.compute.instance_count} x {settings.compute.instance_type} at {summary.hourly_usd} USD/h"
    )


def _echo_links(summary: SweepSummary) -> None:
    from tracker.compare import ui_links

    links = ui_links(
        summary.tracking_uri,
        summary.experiment_id,
        summary.top_run_ids,
        view=summary.runs_view,
        all_run_ids=summary.all_run_ids,
    )
    echo_links(links, summary.tracking_uri)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
