"""``tracker grpc-proxy``: Optuna's gRPC storage proxy, for many workers on one database."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tracker.cli._group import cli
from tracker.cli._options import common, ensure_port_free, load
from tracker.errors import TrackerError


@cli.command("grpc-proxy")
@common
@click.option("--storage", help="The storage the proxy serves (default: storage: in the config, or optuna.journal).")
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for other machines)."
)
@click.option("--port", type=click.IntRange(1, 65535), default=13000, show_default=True, help="Port to listen on.")
def grpc_proxy(config_file: Path | None, storage: str | None, host: str, port: int) -> None:
    """Serve an Optuna storage over gRPC, so many workers share one database connection pool.

    Workers then use --storage grpc://HOST:PORT. Ctrl-C stops the proxy.
    """
    settings = load(config_file, {"storage": storage})
    if settings.storage.startswith("grpc://"):
        raise TrackerError("grpc-proxy serves a database: give --storage a database URL, not grpc://")
    try:
        import grpc  # noqa: F401
    except ImportError as exc:
        raise TrackerError("the gRPC proxy needs grpcio: pip install 'tracker-roi[grpc]'") from exc
    import optuna

    from tuning.storage import open_storage

    ensure_port_free(host, port)
    database = open_storage(settings.storage)
    click.echo(f"Optuna gRPC storage proxy on {host}:{port} for {settings.storage.split('@')[-1]} (Ctrl-C stops it)")
    sys.stdout.flush()
    import warnings

    # Optuna marks the proxy experimental on every start; the line above says what is running.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    optuna.storages.run_grpc_proxy_server(database, host=host, port=port)
