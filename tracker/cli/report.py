"""``tracker report``: the ROI report of the latest sweep's best model, as PDF, HTML and JSON."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.cli._group import cli
from tracker.cli._options import common, distinct_outputs, load, spend_options, spend_overrides
from tracker.record.layout import REPORT_FILE

if TYPE_CHECKING:
    from decimal import Decimal

    from reports.figures import RoiFigures


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
    figures (npv, npv_all_costs, roi, net_benefit, monthly_benefit, development_cost, payback_months,
    probability_npv_positive) as metrics, so the MLflow UI compares sweeps by their value.
    """
    from reports.publish import publish_report, repair_files
    from reports.roi_report import build_report
    from tracker.record import Record

    distinct_outputs(out=flags["out"], html=flags["html"], json_path=flags["json_path"])
    # A set a killed run left half renamed is finished (or its leftovers removed) before anything else.
    repair_files(pdf=flags["out"], html=flags["html"], json_path=flags["json_path"])
    overrides = {
        **spend_overrides(flags),
        "experiment": flags["experiment"],
        "tracking_uri": flags["tracking_uri"],
    }
    settings = load(config_file, overrides)
    record = Record.open(settings.tracking_uri, create=False)
    built = build_report(
        settings,
        run_id=run_id,
        record=record,
        refresh=flags["refresh"],
        check_tags=not flags["skip_tag_check"],
        config_file=config_file,
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
    _print_headline(built.figures)
    logged = f"; logged on run {published.logged_on}" if published.logged_on else ""
    click.echo(f"Wrote {', '.join(published.files)}{logged}")
    for version in published.versions:
        click.echo(f"Tagged model version {version} with its value (npv, roi_percent, net_benefit)")


def _print_headline(figures: RoiFigures) -> None:
    """Page 1 in a terminal: the verdict, its warnings, and the figures as finance prints them."""
    from tracker.money import grouped

    h, cur = figures.headline, figures.headline.currency

    def money(value: Decimal | None) -> str:
        return "none" if value is None else f"{grouped(value)} {cur}"

    click.echo(f"{h.recommendation}: {h.reason}")
    for warning in h.warnings:
        click.echo(f"  warning: {warning}")
    base = figures.baseline
    if base is not None:
        line = f"  baseline: {base.words} ({money(base.value_per_prediction)} a prediction)"
        if base.alternative is not None:
            line += f"; against {base.alternative.words} the NPV would be {money(base.alternative.npv)}"
        click.echo(line)
    click.echo(
        f"  NPV of the costs still to come (the verdict's): {money(h.npv)}; simulated P50 {money(h.npv_p50)}, "
        f"mean {money(h.npv_mean)}, P10-P90 {money(h.npv_p10)} to {money(h.npv_p90)}"
    )
    if h.roi_percent is None:
        roi = f"ROI {h.roi_note}"
    else:
        roi = f"ROI {grouped(h.roi_percent, 0)}%"
        if h.roi_p10_percent is not None and h.roi_p90_percent is not None:
            roi += f" (P10-P90 {grouped(h.roi_p10_percent, 0)}% to {grouped(h.roi_p90_percent, 0)}%)"
    click.echo(f"  NPV of all costs (was it worth it?): {money(h.npv_all_costs)}; {roi}")
    click.echo(f"  net benefit: {money(h.net_benefit)} over {h.horizon_months} months, undiscounted")
    click.echo(f"  monthly benefit: {money(h.monthly_benefit)} at full ramp")
    if h.development_cost is None:
        click.echo("  development cost: none found")
    else:
        click.echo(
            f"  development cost: {money(h.development_cost)} ({h.development_cost_basis} cloud spend and one-off "
            f"costs): {money(h.cost_spent)} spent, {money(h.cost_to_come)} still to come"
        )
    if h.payback_months is None:
        click.echo(f"  payback: {h.payback_note}")
    else:
        discounted = h.payback_months_discounted
        beside = f" (discounted: {discounted} months)" if discounted is not None else ""
        click.echo(f"  payback: {h.payback_months} months{beside}")
    ops = figures.operations
    if ops is not None:
        click.echo(
            f"  each month: {grouped(ops.actions_per_month, 0)} actions, {grouped(ops.catches_per_month, 0)} "
            f"catches, {grouped(ops.false_alarms_per_month, 0)} false alarms"
        )
