"""``tracker ui``: the MLflow UI on the configured store."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracker.cli._group import cli
from tracker.cli._options import common, ensure_port_free, load
from tracker.urls import redact


@cli.command()
@common
@click.option("--tracking-uri", help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True, help="Port to listen on.")
def ui(config_file: Path | None, tracking_uri: str | None, host: str, port: int) -> None:
    """Start the MLflow UI on the configured store (Ctrl-C stops it)."""
    import os
    import shutil

    settings = load(config_file, {"tracking_uri": tracking_uri})
    uri = settings.tracking_uri
    if uri.startswith(("http://", "https://")):
        click.echo(f"The store is a tracking server already: open {redact(uri)}")
        return
    ensure_port_free(host, port)
    mlflow = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    click.echo(f"MLflow UI on http://{host}:{port} for {redact(uri)} (Ctrl-C stops it)")
    sys.stdout.flush()
    os.execv(mlflow, [mlflow, "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)])
