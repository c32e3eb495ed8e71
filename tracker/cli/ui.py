"""``tracker ui``: the MLflow UI on the configured store, with links that land on the sweep."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracker.cli._group import cli
from tracker.cli._options import common, ensure_port_free, load
from tracker.cli._server import serve
from tracker.errors import TrackerError
from tracker.urls import redact

if TYPE_CHECKING:
    from tracker.compare import UiLinks
    from tracker.config import Settings


@cli.command()
@common
@click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).")
@click.option("--experiment", help="Experiment whose latest sweep the links show (default: the config's).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server worker processes (MLflow's own default is 4; one starts fastest and serves one person well).",
)
@click.option(
    "--open", "open_browser", is_flag=True, help="Open the latest sweep's runs table in a browser once the UI answers."
)
def ui(
    config_file: Path | None,
    tracking_uri: str | None,
    experiment: str | None,
    host: str,
    port: int,
    workers: int,
    open_browser: bool,
) -> None:
    """Start the MLflow UI on the configured store (Ctrl-C stops it).

    It prints links to the latest sweep of the configured experiment: its runs table in
    the model-training workspace (the trials best first, with the metric and the searched
    parameters as columns), the best trial's run, and MLflow's compare page for the best
    distinct trials and for all of them.
    """
    settings = load(config_file, {"tracking_uri": tracking_uri, "experiment": experiment})
    uri = settings.tracking_uri
    from tracker.record._client import require_store

    require_store(uri)  # the UI only reads: a store that is not there is never made empty
    served = f"http://{host}:{port}"
    links = _latest_links(settings, served)
    if uri.startswith(("http://", "https://")):
        click.echo(f"The store is a tracking server already: open {redact(uri)}")
        _echo(links)
        if open_browser:
            _open(links.runs if links else redact(uri))
        return
    ensure_port_free(host, port)
    click.echo(f"MLflow UI on {served} for {redact(uri)} (Ctrl-C stops it)")
    _echo(links)
    sys.stdout.flush()
    command = [
        *_mlflow(),
        "ui",
        "--backend-store-uri",
        uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    url = links.runs if links else served
    serve(command, served, (lambda: _open(url)) if open_browser else None)


def _mlflow() -> list[str]:
    """MLflow's command line, from the interpreter that runs this one."""
    return [sys.executable, "-m", "mlflow"]


def _latest_links(settings: Settings, served: str) -> UiLinks | None:
    from tracker.compare import compare_latest_sweep

    try:
        return compare_latest_sweep(settings.tracking_uri, settings.experiment).links(settings.tracking_uri, served)
    except TrackerError:  # no sweep yet in this experiment: the UI still starts
        return None


def _echo(links: UiLinks | None) -> None:
    for line in links.lines() if links else []:
        click.echo(f"  {line}")


def _open(url: str) -> None:
    import webbrowser

    try:
        webbrowser.get()
    except webbrowser.Error:
        click.echo(f"note: no browser found on this machine; open {url} where there is one", err=True)
        return
    if not webbrowser.open(url):
        click.echo(f"note: the browser did not open; open {url}", err=True)
