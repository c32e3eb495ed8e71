"""``tracker report``: the ROI report of the latest sweep's best model, as PDF, HTML and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.cli._group import cli
from tracker.cli._options import common, load, spend_options, spend_overrides
from tracker.record.layout import REPORT_FILE

if TYPE_CHECKING:
    from reports.figures import HeadlineFigures


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
    default=Path(REPORT_FILE),
    show_default=True,
    help="Every figure, money as decimal strings.",
)
@spend_options
@click.option("--paper", type=click.Choice(["a4", "letter"]), default="a4", show_default=True, help="Paper size.")
@click.option("--tracking-uri", help="MLflow tracking URI.")
def report(config_file: Path | None, run_id: str | None, paper: str, **flags: Any) -> None:
    """Build the ROI report of the latest sweep's best model: a PDF, its HTML twin and a JSON of the figures.

    The files are also logged on the sweep's parent run under reports/, with the headline
    figures (npv, roi, net_benefit, monthly_benefit, development_cost, payback_months,
    probability_npv_positive) as metrics, so the MLflow UI compares sweeps by their value.
    """
    from reports.publish import publish_report
    from reports.roi_report import build_report
    from tracker.record import Record

    overrides = {
        **spend_overrides(flags),
        "experiment": flags["experiment"],
        "tracking_uri": flags["tracking_uri"],
    }
    settings = load(config_file, overrides)
    record = Record.open(settings.tracking_uri)
    built = build_report(
        settings, run_id=run_id, record=record, refresh=flags["refresh"], check_tags=not flags["skip_tag_check"]
    )
    published = publish_report(
        built,
        pdf=flags["out"],
        html=flags["html"],
        json_path=flags["json_path"],
        record=record,
        paper=paper,
        on_refused=lambda url: click.echo(f"note: not loaded: {url}", err=True),
    )
    _print_headline(built.figures.headline)
    logged = f"; logged on run {published.logged_on}" if published.logged_on else ""
    click.echo(f"Wrote {', '.join(published.files)}{logged}")
    for version in published.versions:
        click.echo(f"Tagged model version {version} with its value (npv, roi_percent, net_benefit)")


def _print_headline(h: HeadlineFigures) -> None:
    cur = h.currency
    click.echo(f"{h.recommendation}: {h.reason}")
    for warning in h.warnings:
        click.echo(f"  warning: {warning}")
    click.echo(f"  NPV: {h.npv} {cur} (10-90%: {h.npv_p10} to {h.npv_p90} {cur})")
    if h.roi_percent is not None:
        click.echo(f"  ROI: {h.roi_percent}% (10-90%: {h.roi_p10_percent}% to {h.roi_p90_percent}%)")
    else:
        click.echo(f"  ROI: {h.roi_note}")
    click.echo(f"  net benefit: {h.net_benefit} {cur} over {h.horizon_months} months, undiscounted")
    click.echo(f"  monthly benefit: {h.monthly_benefit} {cur} at full ramp")
    if h.development_cost is None:
        click.echo("  development cost: none found")
    else:
        click.echo(
            f"  development cost: {h.development_cost} {cur} ({h.development_cost_basis} cloud spend and one-off costs)"
        )
    payback = h.payback_note if h.payback_months is None else f"{h.payback_months} months"
    click.echo(f"  payback: {payback}")
