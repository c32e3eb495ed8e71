"""``tracker cost``: what the project spent, by cost-allocation tag, from any cost source."""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tracker.cli._group import cli
from tracker.cli._options import common, load, output_format, spend_options, spend_overrides

if TYPE_CHECKING:
    from cost.attribution import Attribution
    from cost.table import SpendTable

METRICS = ["UnblendedCost", "AmortizedCost", "NetUnblendedCost", "NetAmortizedCost", "BlendedCost"]


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
@output_format
def cost(config_file: Path | None, fmt: str, **flags: Any) -> None:
    """Print what the project spent, per period and service, with the total and its currency.

    The spend is filtered by the cost-allocation tags (--tag project=churn), from Cost
    Explorer (ce:GetCostAndUsage), a CUR 2.0 / legacy CUR / FOCUS billing export, or an
    estimate from the trial durations in MLflow.
    """
    from cost.service import spend_for

    overrides = {
        **spend_overrides(flags),
        "cost.granularity": flags["granularity"],
        "cost.metric": flags["metric"],
        "experiment": flags["experiment"],
        "tracking_uri": flags["tracking_uri"],
    }
    settings = load(config_file, overrides)
    table = spend_for(settings, refresh=flags["refresh"], check_tags=not flags["skip_tag_check"])
    if flags["currency"]:
        table = table.only_currency(flags["currency"])
    table.currency  # noqa: B018 - mixed currencies are an error before anything is printed
    for warning in table.warnings:  # on stderr, whatever the format: a 0 that may be wrong
        click.echo(f"warning: {warning}", err=True)
    attribution = None
    if flags["attribute_to"]:
        from cost.attribution import attribute_spend
        from tracker.record import Record

        attribution = attribute_spend(table, Record.open(settings.tracking_uri, create=False), flags["attribute_to"])
    if fmt == "json":
        payload = table.to_json()
        if attribution is not None:
            payload["attribution"] = attribution.to_json()
        click.echo(json.dumps(payload, indent=2))
    elif fmt == "csv":
        click.echo(table.to_csv(), nl=False)
    else:
        _print_spend(table, attribution)


def _print_spend(table: SpendTable, attribution: Attribution | None) -> None:
    from rich.table import Table

    from tracker.cli._options import console as plain_or_styled
    from tracker.money import exact_text

    console = plain_or_styled(width=None if sys.stdout.isatty() else 160)
    view = Table(title=f"Spend from {table.source}: {table.filter.describe()}")
    for name in ("period", "service", "charge", "amount", "currency", "estimated"):
        view.add_column(name, justify="right" if name == "amount" else "left")
    for row in table.rows:
        view.add_row(
            # Inclusive, as the filter line says it: AWS's period end is the day after.
            f"{row.period_start} to {row.period_end - timedelta(days=1)}",
            row.service,
            row.charge_type,
            exact_text(row.amount),
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
    charges = table.by_charge_type()
    if len(charges) > 1:
        parts = ", ".join(f"{name} {exact_text(amount)}" for name, amount in charges.items())
        click.echo(f"By charge type: {parts} (they add up to the total)")
    click.echo(f"Total: {exact_text(table.total)} {table.currency} ({flag}, {rows})")
    if attribution is not None:
        click.echo(
            f"Attributed {attribution.total} USD to {len(attribution.parts)} trial runs of "
            f"{attribution.experiment!r} as {attribution.metric}"
        )
