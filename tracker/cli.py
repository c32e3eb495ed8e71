"""The command line: the only code that prints or exits.

Each command parses its flags, calls a library function, and formats what comes
back. Errors from the library (:class:`~tracker.errors.TrackerError`) are turned into
one line and an exit code here, in one place: 2 for the user's input, 1 for failed
work. ``--debug`` shows the traceback instead. Heavy packages are imported inside the
commands so that ``--help`` answers at once.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.config import Settings
    from tuning.sweep import SweepEvent, SweepSummary

__all__ = ["cli", "main"]

F = TypeVar("F", bound=Callable[..., Any])
INTERRUPTED = 130


class _Group(click.Group):
    """Maps library errors to one line and an exit code, for every command."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            if ctx.meta.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get("debug"):
                raise
            click.echo(
                f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
            )
            ctx.exit(1)


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta["debug"] = True
    return value


def common(func: F) -> F:
    """--config and --debug, accepted by every command."""
    func = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_debug,
        help="Show the full traceback of an error.",
    )(func)
    func = click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="YAML config file (see the configuration reference).",
    )(func)
    return func


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tracker-roi", prog_name="tracker")
def cli() -> None:
    """Optuna sweeps tracked in MLflow, joined with what the project spent, as ROI reports."""
    import os

    # MLflow draws a progress bar for every artifact download; the commands print their own lines.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def _settings(config_file: Path | None, overrides: dict[str, Any]) -> Settings:
    from tracker.config import load_settings

    return load_settings(config_file, overrides)


# -- sweep ----------------------------------------------------------------------------------------


@cli.command()
@common
@click.option("--experiment", help="MLflow experiment name (default: tracker-demo).")
@click.option("--study", help="Optuna study name (default: the experiment name).")
@click.option(
    "--trials", type=click.IntRange(min=1), help="Finished trials the study should reach (limits.max_trials)."
)
@click.option(
    "--timeout", type=click.FloatRange(min=0, min_open=True), help="Stop starting trials after this many seconds."
)
@click.option("--jobs", type=click.IntRange(min=1), help="Worker processes on this machine (limits.max_parallel).")
@click.option("--strategy", type=click.Choice(["bayesian", "random", "grid", "hyperband"]), help="Search strategy.")
@click.option("--storage", help="Optuna storage URL (default: sqlite:///optuna.db).")
@click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).")
@click.option("--seed", type=int, help="Seed for the data split, the models and the sampler.")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def sweep(config_file: Path | None, quiet: bool, **flags: Any) -> None:
    """Run an Optuna sweep and record every trial as an MLflow run.

    With no flags: a 20-trial random-forest sweep on scikit-learn's breast-cancer
    dataset, stored in ./mlflow.db and ./optuna.db. Rerunning resumes the study;
    --trials N is the total of finished trials it should reach.
    """
    from cost.prices import compute_hourly_price
    from tuning.sweep import run_sweep

    settings = _settings(
        config_file,
        {
            "experiment": flags["experiment"],
            "study": flags["study"],
            "limits.max_trials": flags["trials"],
            "limits.max_runtime_seconds": flags["timeout"],
            "limits.max_parallel": flags["jobs"],
            "strategy": flags["strategy"],
            "storage": flags["storage"],
            "tracking_uri": flags["tracking_uri"],
            "seed": flags["seed"],
        },
    )
    hourly = compute_hourly_price(settings.compute)
    progress = _Progress(quiet=quiet, target=settings.limits.max_trials)
    try:
        with progress:
            summary = run_sweep(settings, hourly_usd=hourly, on_event=progress.update)
    except KeyboardInterrupt as exc:
        interrupted = getattr(exc, "summary", None)
        if interrupted is not None:
            _print_summary(interrupted, settings, hourly)
        click.echo("interrupted: the sweep's parent run is KILLED; rerun the same command to continue", err=True)
        sys.exit(INTERRUPTED)
    _print_summary(summary, settings, hourly)
    if summary.best is None:
        if summary.first_error:
            raise TrackerError(f"every trial failed; the first error was: {summary.first_error}")
        raise TrackerError(f"no trial completed ({summary.stop_reason}); raise the limit and rerun")


class _Progress:
    """A progress bar on a terminal, plain lines elsewhere, nothing with --quiet."""

    def __init__(self, *, quiet: bool, target: int) -> None:
        self.quiet = quiet
        self.target = target
        self.bar: Any = None
        self.task: Any = None
        self.tty = sys.stdout.isatty()

    def __enter__(self) -> _Progress:
        if self.quiet or not self.tty:
            return self
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]trials"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
        )
        self.bar.start()
        self.task = self.bar.add_task("sweep", total=self.target, best="-")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def update(self, event: SweepEvent) -> None:
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


def _print_summary(summary: SweepSummary, settings: Settings, hourly: Any) -> None:
    counts = ", ".join(f"{n} {state.lower()}" for state, n in summary.counts.items()) or "no trials"
    click.echo(f"Sweep {summary.study!r} stopped: {summary.stop_reason} ({summary.elapsed_seconds:.1f} s)")
    click.echo(f"  trials: {counts}")
    best = summary.best
    if best is not None:
        click.echo(f"  best trial: #{best.number}  {summary.metric_key} = {best.value:.6g}")
        shown = {k: v for k, v in sorted(best.metrics.items()) if k.startswith("test_")}
        if shown:
            click.echo("    test: " + "  ".join(f"{k.removeprefix('test_')} {v:.4g}" for k, v in shown.items()))
        if best.params:
            click.echo("    params: " + ", ".join(f"{k}={_fmt(v)}" for k, v in best.params.items()))
        click.echo(f"    MLflow run: {best.run_id}")
    if summary.pareto:
        click.echo(f"  Pareto-optimal trials (metric vs cost): {', '.join(map(str, summary.pareto))}")
    click.echo(f"  parent run: {summary.parent_run_id} in experiment {summary.experiment!r}")
    if summary.champion_version:
        click.echo(f"  champion: model {summary.experiment!r} version {summary.champion_version} (alias champion)")
    click.echo(
        f"  estimated cost: {summary.cost_usd_estimated.quantize(Decimal('0.0001'))} USD (estimated, "
        f"{settings.compute.instance_count} x {settings.compute.instance_type} at {hourly} USD/h)"
    )
    for note in summary.notes:
        click.echo(f"  note: {note}")
    click.echo(f"Open the UI: python -m tracker ui --tracking-uri {summary.tracking_uri}")


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# -- runs -------------------------------------------------------------------------------------------


@cli.command()
@common
@click.option("--experiment", help="Experiment name (default: from the config, or tracker-demo).")
@click.option("--tracking-uri", help="MLflow tracking URI.")
@click.option("--top", "top", type=click.IntRange(min=1), help="Show only the best K runs.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def runs(config_file: Path | None, experiment: str | None, tracking_uri: str | None, top: int | None, fmt: str) -> None:
    """Compare the trial runs of the latest sweep, best first."""
    from tracker.compare import compare_latest_sweep

    settings = _settings(config_file, {"experiment": experiment, "tracking_uri": tracking_uri})
    table = compare_latest_sweep(settings.tracking_uri, settings.experiment, top=top)
    if fmt == "json":
        click.echo(json.dumps(table.to_records(), indent=2))
    elif fmt == "csv":
        click.echo(table.to_csv(), nl=False)
    else:
        from rich.console import Console

        Console(width=200 if not sys.stdout.isatty() else None).print(table.to_rich())


# -- cost -------------------------------------------------------------------------------------------

METRICS = ["UnblendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost", "BlendedCost"]


def _parse_tags(values: tuple[str, ...]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key.strip() or not tag_value.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE (for example project=churn)", param_hint="--tag")
        tags[key.strip()] = tag_value.strip()
    return tags


def spend_options(func: F) -> F:
    """Where the spend comes from: shared by ``cost`` and ``report``."""
    options = [
        click.option(
            "--tag",
            "tags",
            multiple=True,
            metavar="KEY=VALUE",
            help="Cost-allocation tag to filter by; repeat for several (combined with AND). "
            "Default: tags: in the config.",
        ),
        click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First day, YYYY-MM-DD."),
        click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive, YYYY-MM-DD."),
        click.option(
            "--source",
            type=click.Choice(["explorer", "billing-file", "estimate"]),
            help="Where the spend comes from (default: cost.source in the config, or estimate).",
        ),
        click.option(
            "--file",
            "file",
            type=click.Path(path_type=Path),
            help="Billing export (file or folder), for --source billing-file.",
        ),
        click.option("--refresh", is_flag=True, help="Ask Cost Explorer again instead of using the cache."),
        click.option(
            "--skip-tag-check",
            is_flag=True,
            help="Do not check that the tag is an active cost-allocation tag (member accounts cannot list them).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _spend_overrides(flags: dict[str, Any]) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "cost.source": flags["source"],
        "cost.file": str(flags["file"]) if flags["file"] else None,
        "cost.start": flags["start"].date().isoformat() if flags["start"] else None,
        "cost.end": flags["end"].date().isoformat() if flags["end"] else None,
    }
    tags = _parse_tags(flags["tags"])
    if tags:
        overrides["tags"] = tags
    return overrides


@cli.command()
@common
@spend_options
@click.option("--granularity", type=click.Choice(["daily", "monthly"]), help="Period of each row (default monthly).")
@click.option("--metric", type=click.Choice(METRICS), help="Cost basis (default UnblendedCost).")
@click.option("--experiment", help="Experiment whose trials are estimated (--source estimate) or attributed.")
@click.option("--tracking-uri", help="MLflow tracking URI.")
@click.option("--currency", help="Keep only lines in this currency, when the spend mixes currencies.")
@click.option(
    "--attribute-to",
    metavar="EXPERIMENT",
    help="Split the total across this experiment's trial runs by duration, logged as cost_usd_billed.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def cost(config_file: Path | None, fmt: str, **flags: Any) -> None:
    """Print what the project spent, per period and service, with the total and its currency.

    The spend is filtered by the cost-allocation tags (--tag project=churn), from Cost
    Explorer (ce:GetCostAndUsage), a CUR 2.0 / legacy CUR / FOCUS billing export, or an
    estimate from the trial durations in MLflow.
    """
    from cost.service import fetch_spend

    overrides = {
        **_spend_overrides(flags),
        "cost.granularity": flags["granularity"],
        "cost.metric": flags["metric"],
        "experiment": flags["experiment"],
        "tracking_uri": flags["tracking_uri"],
    }
    settings = _settings(config_file, overrides)
    table = fetch_spend(settings, refresh=flags["refresh"], check_tags=not flags["skip_tag_check"])
    if flags["currency"]:
        table = table.only_currency(flags["currency"])
    table.currency  # noqa: B018 - mixed currencies are an error before anything is printed
    attribution = None
    if flags["attribute_to"]:
        from cost.attribution import attribute_spend
        from tracker.runs import RunStore

        attribution = attribute_spend(table, RunStore.open(settings.tracking_uri), flags["attribute_to"])
    if fmt == "json":
        payload = table.to_json()
        if attribution is not None:
            payload["attribution"] = {
                "experiment": attribution.experiment,
                "metric": "cost_usd_billed",
                "total": str(attribution.total),
                "runs": [{"run_id": r, "trial": n, "amount": str(a)} for r, n, a in attribution.parts],
            }
        click.echo(json.dumps(payload, indent=2))
        return
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["period_start", "period_end", "service", "amount", "currency", "estimated"])
        for row in table.rows:
            item = row.to_json()
            writer.writerow(
                [
                    item["period_start"],
                    item["period_end"],
                    item["service"],
                    item["amount"],
                    item["currency"],
                    str(row.estimated).lower(),
                ]
            )
        click.echo(buffer.getvalue(), nl=False)
        return
    _print_spend(table, attribution)


def _print_spend(table: Any, attribution: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    from cost.table import money

    console = Console(width=None if sys.stdout.isatty() else 160)
    view = Table(title=f"Spend from {table.source}: {table.filter.describe()}")
    for name in ("period", "service", "amount", "currency", "estimated"):
        view.add_column(name, justify="right" if name == "amount" else "left")
    for row in table.rows:
        view.add_row(
            f"{row.period_start} to {row.period_end}",
            row.service,
            money(row.amount),
            row.currency,
            "yes" if row.estimated else "",
        )
    console.print(view)
    for key, value in table.details:
        click.echo(f"  {key}: {value}")
    for note in table.notes:
        click.echo(f"  note: {note}")
    flag = "estimated" if table.estimated else "not estimated"
    rows = f"{len(table.rows)} row{'s' if len(table.rows) != 1 else ''}"
    click.echo(f"Total: {money(table.total)} {table.currency} ({flag}, {rows})")
    if attribution is not None:
        click.echo(
            f"Attributed {attribution.total} USD to {len(attribution.parts)} trial runs of "
            f"{attribution.experiment!r} as cost_usd_billed"
        )


# -- report -----------------------------------------------------------------------------------------


@cli.command()
@common
@click.option("--experiment", help="Experiment whose latest sweep is reported (default: from the config).")
@click.option("--run", "run_id", help="Report this run (a trial run, or a sweep's parent run) instead.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("report.pdf"),
    show_default=True,
    help="The PDF.",
)
@click.option(
    "--html",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("report.html"),
    show_default=True,
    help="The HTML twin.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=Path("roi.json"),
    show_default=True,
    help="Every figure, money as decimal strings.",
)
@spend_options
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size.")
@click.option("--tracking-uri", help="MLflow tracking URI.")
def report(config_file: Path | None, run_id: str | None, paper: str, **flags: Any) -> None:
    """Build the ROI report of the latest sweep's best model: a PDF, its HTML twin and a JSON of the figures.

    The files are also logged on the sweep's parent run under reports/, with the headline
    figures (roi, net_benefit, monthly_benefit, development_cost, payback_months) as
    metrics, so the MLflow UI compares ROI across sweeps.
    """
    from reports.build import build_report
    from reports.render import render_html, render_pdf, write_atomic
    from tracker.runs import RunStore

    overrides = {
        **_spend_overrides(flags),
        "experiment": flags["experiment"],
        "tracking_uri": flags["tracking_uri"],
    }
    settings = _settings(config_file, overrides)
    store = RunStore.open(settings.tracking_uri)
    built = build_report(
        settings, run_id=run_id, store=store, refresh=flags["refresh"], check_tags=not flags["skip_tag_check"]
    )
    html = render_html(built, paper=paper)
    pdf = render_pdf(html, built, on_refused=lambda url: click.echo(f"note: not loaded: {url}", err=True))
    written = []
    for path, data in (
        (flags["json_path"], json.dumps(built.data, indent=2).encode()),
        (flags["html"], html.encode()),
        (flags["out"], pdf),
    ):
        write_atomic(path, data)
        written.append(str(path))
    h = built.headline
    if built.parent_run_id:
        numbers = {
            "roi": h["roi"],
            "net_benefit": h["net_benefit"],
            "monthly_benefit": h["monthly_benefit"],
            "development_cost": h["development_cost"],
            "payback_months": h["payback_months"],
        }
        store.log_report(built.parent_run_id, written, {k: float(v) for k, v in numbers.items() if v is not None})
    currency = h["currency"]
    click.echo(f"{h['recommendation']}: {h['reason']}")
    if h["roi"] is not None:
        click.echo(f"  ROI: {h['roi_percent']}% (10-90%: {h['roi_p10_percent']}% to {h['roi_p90_percent']}%)")
    else:
        click.echo(f"  ROI: {h['roi_note']}")
    click.echo(
        f"  net benefit: {h['net_benefit']} {currency} over {built.data['value_model']['horizon_months']} months"
    )
    click.echo(f"  monthly benefit: {h['monthly_benefit']} {currency}")
    if h["development_cost"] is None:
        click.echo("  development cost: none recorded")
    else:
        kind = "estimated" if h["development_cost_estimated"] else "billed"
        click.echo(f"  development cost: {h['development_cost']} {currency} ({kind})")
    click.echo(
        f"  payback: {h['payback_months'] + ' months' if h['payback_months'] is not None else h['payback_note']}"
    )
    click.echo(
        f"Wrote {', '.join(written)}" + (f"; logged on run {built.parent_run_id}" if built.parent_run_id else "")
    )


# -- grpc-proxy -------------------------------------------------------------------------------------


@cli.command("grpc-proxy")
@common
@click.option(
    "--storage", help="The database the proxy serves (default: storage: in the config, or sqlite:///optuna.db)."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for other machines)."
)
@click.option("--port", type=int, default=13000, show_default=True, help="Port to listen on.")
def grpc_proxy(config_file: Path | None, storage: str | None, host: str, port: int) -> None:
    """Serve an Optuna storage over gRPC, so many workers share one database connection pool.

    Workers then use --storage grpc://HOST:PORT. Ctrl-C stops the proxy.
    """
    settings = _settings(config_file, {"storage": storage})
    if settings.storage.startswith("grpc://"):
        raise TrackerError("grpc-proxy serves a database: give --storage a database URL, not grpc://")
    try:
        import grpc  # noqa: F401
    except ImportError as exc:
        raise TrackerError("the gRPC proxy needs grpcio: pip install 'tracker-roi[grpc]'") from exc
    import optuna

    from tuning.storage import open_storage

    database = open_storage(settings.storage)
    click.echo(f"Optuna gRPC storage proxy on {host}:{port} for {settings.storage.split('@')[-1]} (Ctrl-C stops it)")
    sys.stdout.flush()
    optuna.storages.run_grpc_proxy_server(database, host=host, port=port)


# -- ui ---------------------------------------------------------------------------------------------


@cli.command()
@common
@click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=5000, show_default=True, help="Port to listen on.")
def ui(config_file: Path | None, tracking_uri: str | None, host: str, port: int) -> None:
    """Start the MLflow UI on the configured store (Ctrl-C stops it)."""
    import os
    import shutil

    settings = _settings(config_file, {"tracking_uri": tracking_uri})
    uri = settings.tracking_uri
    if uri.startswith(("http://", "https://")):
        click.echo(f"The store is a tracking server already: open {uri}")
        return
    mlflow = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    click.echo(f"MLflow UI on http://{host}:{port} for {uri} (Ctrl-C stops it)")
    sys.stdout.flush()
    os.execv(mlflow, [mlflow, "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)])


def main() -> None:
    """Console-script entry point: ``tracker`` is ``python -m tracker``."""
    cli.main(prog_name="tracker")
