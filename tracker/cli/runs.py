"""``tracker runs``: the latest sweep's trials in the terminal, best first."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from tracker.cli._group import cli
from tracker.cli._options import common, echo_links, load, output_format


@cli.command()
@common
@click.option(
    "--experiment",
    help="Experiment name (default: the config's experiment or its file name; tracker-demo without one).",
)
@click.option("--tracking-uri", help="MLflow tracking URI.")
@click.option("--top", "top", type=click.IntRange(min=1), help="Show only the best K runs.")
@output_format
def runs(config_file: Path | None, experiment: str | None, tracking_uri: str | None, top: int | None, fmt: str) -> None:
    """Compare the trial runs of the latest sweep, best first.

    As a table, it ends with two links into the MLflow UI: the experiment's runs table
    (in the model-training workspace) and the compare page of the best five trials.
    """
    from tracker.compare import compare_latest_sweep

    settings = load(config_file, {"experiment": experiment, "tracking_uri": tracking_uri})
    table = compare_latest_sweep(settings.tracking_uri, settings.experiment, top=top)
    if fmt == "json":
        click.echo(json.dumps(table.to_records(), indent=2))
    elif fmt == "csv":
        click.echo(table.to_csv(), nl=False)
    else:
        from tracker.cli._options import console

        out = console(width=200 if not sys.stdout.isatty() else None)
        view, left_out = table.to_rich(out.width)
        out.print(view)
        if left_out:
            click.echo(f"  not shown, for the terminal's width: {', '.join(left_out)} (see --format csv or json)")
        echo_links(table.links(settings.tracking_uri), settings.tracking_uri)
