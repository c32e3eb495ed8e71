"""``tracker ui``: the MLflow UI on the configured store, with links that land on the sweep."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from tracker.cli._group import cli
from tracker.cli._options import common, ensure_port_free, load
from tracker.errors import TrackerError
from tracker.urls import redact

if TYPE_CHECKING:
    from tracker.compare import UiLinks
    from tracker.config import Settings

# How long --open waits for the UI to answer before giving up on the browser.
OPEN_TIMEOUT_SECONDS = 90


@cli.command()
@common
@click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port to listen on.")
@click.option(
    "--open", "open_browser", is_flag=True, help="Open the latest sweep's runs table in a browser once the UI answers."
)
def ui(config_file: Path | None, tracking_uri: str | None, host: str, port: int, open_browser: bool) -> None:
    """Start the MLflow UI on the configured store (Ctrl-C stops it).

    It prints links to the latest sweep of the configured experiment: its runs table in
    the model-training workspace, and MLflow's compare page for its best five trials.
    """
    settings = load(config_file, {"tracking_uri": tracking_uri})
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
    command = [_mlflow(), "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    if not open_browser:
        import os

        os.execv(command[0], command)
    _serve_and_open(command, served, links.runs if links else served)


def _mlflow() -> str:
    import shutil

    return shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))


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

    if not webbrowser.open(url):
        click.echo(f"note: no browser could be opened; open {url}", err=True)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _serve_and_open(command: list[str], served: str, url: str) -> None:
    """Run the UI in its own process group, open ``url`` once it answers, stop the group on Ctrl-C."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    server = subprocess.Popen(command, start_new_session=True)
    # The server has a session of its own, so a SIGTERM to this process would not reach it: it is
    # turned into Ctrl-C here, so that the group is stopped below either way.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        deadline = time.monotonic() + OPEN_TIMEOUT_SECONDS
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"{served}/health", timeout=2) as answer:
                    if answer.status == 200:
                        _open(url)
                        break
            except OSError:
                time.sleep(0.5)
        server.wait()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    if server.returncode not in (0, -signal.SIGTERM):
        raise TrackerError(f"the MLflow UI stopped with exit code {server.returncode}")
