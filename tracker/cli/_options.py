"""Options more than one command takes, and the settings they build."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from tracker.compare import UiLinks
    from tracker.config import Settings

__all__ = [
    "common",
    "console",
    "distinct_outputs",
    "echo_links",
    "ensure_port_free",
    "load",
    "output_format",
    "spend_options",
    "spend_overrides",
]

F = TypeVar("F", bound=Callable[..., Any])


# --format, for the commands that print a table: a terminal table, CSV or JSON.
output_format = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)


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


def ensure_port_free(host: str, port: int) -> None:
    """A server's address, checked before it starts: one line, not a server's traceback."""
    import socket

    from tracker.errors import UsageError

    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise UsageError(f"--port: cannot listen on {host}:{port} ({exc.strerror}); choose another --port") from exc


def load(config_file: Path | None, overrides: dict[str, Any]) -> Settings:
    """The validated settings: the file, the environment, then these flag overrides."""
    from tracker.config import load_settings

    return load_settings(config_file, overrides)


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
            help="Billing export for --source billing-file: a file, a folder, or s3://BUCKET/PREFIX/.",
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


def spend_overrides(flags: dict[str, Any]) -> dict[str, Any]:
    """The settings overrides that :func:`spend_options` flags stand for."""
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


def echo_links(links: UiLinks, tracking_uri: str) -> None:
    """The MLflow UI links of a sweep; for a local store, the command that serves them first."""
    from tracker.urls import redact

    if links.local:
        click.echo(f"Open the UI: {this_command()} ui --tracking-uri {redact(tracking_uri)}, then:")
    for line in links.lines():
        click.echo(f"  {line}")


def distinct_outputs(**paths: Path) -> None:
    """The report's files, by flag (``out=...``), each its own file: two flags naming one file
    (after symlinks are resolved) would leave one of them silently overwritten by the other."""
    seen: dict[Path, str] = {}
    for name, path in paths.items():
        flag = "--" + name.replace("_path", "").replace("_", "-")
        where = Path(path).resolve()
        if where in seen:
            raise click.UsageError(f"{seen[where]} and {flag} both name {path}; give each its own file")
        seen[where] = flag


def console(**options: Any) -> Any:
    """A rich console for tables and progress: plain text (no colour, no bold or italic) when
    ``NO_COLOR`` is set, ``TERM`` is dumb, or the output is not a terminal."""
    import os
    import sys

    from rich.console import Console

    plain = "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb" or not sys.stdout.isatty()
    return Console(color_system=None if plain else "auto", highlight=not plain, **options)


def this_command() -> str:
    """How to run this tracker again from a pasted line: ``tracker`` when it is on PATH and is this
    installation, else this interpreter's ``-m tracker`` (so a virtual environment need not be active)."""
    import shlex
    import shutil
    import sys
    from pathlib import Path

    found = shutil.which("tracker")
    if found is not None and Path(found).absolute().parent == Path(sys.executable).absolute().parent:
        return "tracker"
    return f"{shlex.quote(sys.executable)} -m tracker"
