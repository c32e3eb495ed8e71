"""The ``tracker`` group: maps library errors to one line and an exit code, for every command."""

from __future__ import annotations

from typing import Any

import click

from tracker.errors import TrackerError

__all__ = ["INTERRUPTED", "cli", "main"]

INTERRUPTED = 130


class _Group(click.Group):
    """2 for the user's input, 1 for failed work, 130 for Ctrl-C; ``--debug`` shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrackerError as exc:
            if ctx.meta.get("debug"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.meta.get("debug"):
                raise
            click.echo(
                f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tracker-roi", prog_name="tracker")
def cli() -> None:
    """Optuna sweeps tracked in MLflow, joined with what the project spent, as ROI reports."""
    import os

    # MLflow draws a progress bar for every artifact download; the commands print their own lines.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def main() -> None:
    """Console-script entry point: ``tracker`` is ``python -m tracker``."""
    cli.main(prog_name="tracker")
