"""``tracker realized``: after deployment, the realized value against the ROI report's plan."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tracker.cli._group import cli
from tracker.cli._options import common, distinct_outputs, load, spend_options, spend_overrides
from tracker.record.layout import REALIZED_FILE


@cli.command()
@common
@click.option(
    "--outcomes",
    "outcomes_path",
    required=True,
    type=click.Path(path_type=Path),
    help="The production log: a CSV or Parquet file, or a folder of them (timestamp, y_score or y_pred, y_true).",
)
@click.option("--experiment", help="Experiment whose latest sweep made the model (default: from the config).")
@click.option("--run", "run_id", help="The sweep's parent run, or the model's trial run, instead of the latest.")
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), default=Path("realized.pdf"), show_default=True,
    help="The PDF.",
)  # fmt: skip
@click.option(
    "--html", type=click.Path(path_type=Path, dir_okay=False), default=Path("realized.html"), show_default=True,
    help="The HTML twin.",
)  # fmt: skip
@click.option(
    "--json", "json_path", type=click.Path(path_type=Path, dir_okay=False), default=Path(REALIZED_FILE),
    show_default=True, help="Every figure, money as decimal strings.",
)  # fmt: skip
@click.option(
    "--score-scale", type=click.Choice(["probability", "percent", "logit"]), default="probability",
    show_default=True, help="What y_score holds: a probability in [0, 1], a percentage, or log-odds.",
)  # fmt: skip
@click.option(
    "--dedupe", is_flag=True, help="Keep each id's latest row and count the repeats (default: repeats are an error)."
)
@click.option("--model-version", help="Read only this model_version's predictions (needed when the log holds several).")
@click.option(
    "--no-log", "--dry-run", "no_log", is_flag=True,
    help="Write the three files and touch nothing in MLflow (no metric steps, no files, no registry tags).",
)  # fmt: skip
@spend_options
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size.")
@click.option("--tracking-uri", help="MLflow tracking URI.")
def realized(config_file: Path | None, outcomes_path: Path, run_id: str | None, paper: str, **flags: Any) -> None:
    """Compare what the deployed model earned, month by month, with the ROI report's plan.

    Months are counted by the calendar from realized.deployed_on (default: the log's first
    month); --start and --end choose the months shown (UTC), not when production began.
    Unlabelled predictions are estimated from the model's calibrated scores. The running
    cost for roi.running_cost_from's tags comes from --source, as for tracker report. The
    plan is the ROI report logged on the sweep's parent run (or computed from the config).
    The monthly figures are logged as metric steps on that run (monthly_net, ...); a run
    over the whole log also sets the model version's realized_roi_to_date and drift_status.
    """
    from reports.publish import repair_files
    from reports.realized_report import publish_realized
    from tracker.record import Record

    # The window is the production log's; the plan's own spend window stays as configured.
    distinct_outputs(out=flags["out"], html=flags["html"], json_path=flags["json_path"])
    # A set a killed run left half renamed is finished (or its leftovers removed) before anything else.
    repair_files(pdf=flags["out"], html=flags["html"], json_path=flags["json_path"])
    overrides = {k: v for k, v in spend_overrides(flags).items() if k not in ("cost.start", "cost.end")}
    settings = load(
        config_file, {**overrides, "experiment": flags["experiment"], "tracking_uri": flags["tracking_uri"]}
    )
    record = Record.open(settings.tracking_uri, create=False)
    with _read_once(outcomes_path) as outcomes_file:
        built = _build(settings, outcomes_file, record, run_id, flags)
    files = publish_realized(
        built,
        pdf=flags["out"],
        html=flags["html"],
        json_path=flags["json_path"],
        record=record,
        paper=paper,
        on_refused=lambda url: click.echo(f"note: not loaded: {url}", err=True),
    )
    for warning in built.figures.warnings:
        click.echo(f"warning: {warning}", err=True)
    _summary(built.figures)
    where = "" if not flags["no_log"] else " (nothing logged to MLflow: --no-log)"
    click.echo(f"Wrote {', '.join(files)}{where}")


def _summary(figures: Any) -> None:
    """The recommendation and the figures to date, money as finance prints it."""
    from tracker.money import grouped

    h = figures.headline
    cur = h.currency

    def shown(value: Any) -> str:
        return f"{grouped(value)} {cur}"

    click.echo(f"{h.recommendation.capitalize()}: {' '.join(h.reasons)}")
    estimated = f", {shown(h.estimated)} of it estimated" if h.estimated else ""
    click.echo(f"  net to date: {shown(h.net)}{estimated}, against {shown(h.planned_net)} planned ({h.status})")
    roi = f"{h.roi_percent}%" if h.roi_percent is not None else "undefined (no development cost found)"
    click.echo(f"  ROI to date: {roi}; NPV to date {shown(h.npv)}; payback {h.payback_month or 'not yet'}")
    click.echo(f"  drift: {h.drift_status} (PSI {h.latest_psi} in {h.latest_month})")


def _build(settings: Any, outcomes: Path, record: Any, run_id: str | None, flags: dict[str, Any]) -> Any:
    from reports.outcomes import LogOptions
    from reports.realized_report import build_realized

    return build_realized(
        settings,
        outcomes,
        record=record,
        run_id=run_id,
        start=flags["start"].date() if flags["start"] else None,
        end=flags["end"].date() if flags["end"] else None,
        options=LogOptions(flags["score_scale"], flags["dedupe"], flags["model_version"]),
        refresh=flags["refresh"],
        check_tags=not flags["skip_tag_check"],
        log=not flags["no_log"],
    )


@contextmanager
def _read_once(path: Path) -> Iterator[Path]:
    """``path`` itself, or, for a pipe (``--outcomes <(zcat log.csv.gz)``), its contents read once into
    a temporary file: the log is read more than once, and a pipe gives its data only the first time."""
    import shutil
    import stat
    import tempfile

    try:
        mode = path.stat().st_mode
    except OSError:
        yield path  # missing: the reader says so
        return
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="tracker-outcomes-") as folder, path.open("rb") as stream:
        head = stream.read(4)
        suffix = ".parquet" if head == b"PAR1" else (".csv.gz" if head[:2] == b"\x1f\x8b" else ".csv")
        copy = Path(folder) / f"outcomes{suffix}"
        with copy.open("wb") as out:
            out.write(head)
            shutil.copyfileobj(stream, out)
        yield copy
