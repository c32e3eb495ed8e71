"""The ``tracker`` group: maps library errors to one line and an exit code, for every command."""

from __future__ import annotations

import os
import re
import sys
from typing import Any, NoReturn

import click

from tracker.errors import TrackerError, clip
from tracker.urls import redact

__all__ = ["INTERRUPTED", "cli", "main"]

INTERRUPTED = 130


class _Group(click.Group):
    """2 for the user's input, 1 for failed work, 130 for Ctrl-C; ``--debug`` shows the traceback.

    Click's own usage errors (a bad flag value) become the same one ``error:`` line.
    """

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
            code = result if isinstance(result, int) else 0
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "tracker"
            click.echo(f"error: {_one_line(exc.format_message())} (see '{where} --help')", err=True)
            code = exc.exit_code
        except click.ClickException as exc:
            click.echo(f"error: {_one_line(exc.format_message())}", err=True)
            code = exc.exit_code
        except click.Abort:
            click.echo("interrupted", err=True)
            code = INTERRUPTED
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        try:
            result = super().invoke(ctx)
        except TrackerError as exc:
            if interrupted():
                _say_interrupted(ctx)
            if ctx.meta.get("debug"):
                raise
            command = self.get_command(ctx, ctx.invoked_subcommand) if ctx.invoked_subcommand else None
            click.echo(f"error: {_one_line(in_flags(str(exc), command))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(INTERRUPTED)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if interrupted():
                _say_interrupted(ctx)
            if ctx.meta.get("debug"):
                raise
            click.echo(
                f"error: unexpected {type(exc).__name__}: {_one_line(str(exc))} (rerun with --debug for the traceback)",
                err=True,
            )
            ctx.exit(1)
        if interrupted():
            _say_interrupted(ctx)
        return result


# Whether SIGINT arrived. A library may turn the KeyboardInterrupt into an error of its own
# (pydantic, while it builds a model's schema at import, raises SchemaError) and another may
# swallow that error (an optional import guarded by ``except Exception``): then the Ctrl-C
# would be lost, or reported as a crash. The flag keeps it: the command ends as interrupted.
_interrupted = False


def _on_sigint(_signum: int, _frame: Any) -> None:
    global _interrupted
    _interrupted = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether the user pressed Ctrl-C (SIGINT), or SIGTERM arrived, since the command started."""
    return _interrupted


def _say_interrupted(ctx: click.Context) -> NoReturn:
    click.echo("interrupted", err=True)
    ctx.exit(INTERRUPTED)


# The config keys a library error may name (in backticks), and the flag that sets each one on
# the commands that have it. Only this layer knows the flags: the library speaks in keys.
CONFIG_FLAGS = {
    "attribute_to": "--attribute-to",
    "cost.end": "--end",
    "cost.file": "--file",
    "cost.metric": "--metric",
    "cost.source": "--source",
    "cost.start": "--start",
    "currency": "--currency",
    "experiment": "--experiment",
    "outcomes": "--outcomes",
    "outcomes.end": "--end",
    "outcomes.start": "--start",
    "storage": "--storage",
    "study": "--study",
    "tags": "--tag",
    "tracking_uri": "--tracking-uri",
}
_KEY = re.compile(r"`([a-z_][a-z0-9_.]*)`")


def in_flags(message: str, command: click.Command | None) -> str:
    """A library error as this command's user reads it: each config key it names becomes the
    command's flag for it, where the command has that flag, and stays the key otherwise."""
    flags = {opt for param in (command.params if command else ()) for opt in param.opts}

    def flag(match: re.Match[str]) -> str:
        key = match.group(1)
        return CONFIG_FLAGS[key] if CONFIG_FLAGS.get(key) in flags else key

    return _KEY.sub(flag, message)


def _one_line(message: str, limit: int = 400) -> str:
    """An error as a person reads it: one line, no URL's password, not a flood."""
    text = " ".join(redact(message).split())
    return clip(text, limit)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="tracker-roi", prog_name="tracker")
def cli() -> None:
    """Optuna sweeps tracked in MLflow, joined with what the project spent, as ROI reports."""
    import os
    import warnings

    # A NumPy or pandas RuntimeWarning (an overflow, a division by zero inside a library) says
    # nothing a user can act on: the result, or the one error line, says what matters.
    warnings.filterwarnings("ignore", category=RuntimeWarning)

    # MLflow draws a progress bar for every artifact download; the commands print their own lines.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow retries a failing tracking server for about two minutes by default; a user at a
    # terminal is better served by an answer in seconds. Their own settings win.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")


def main() -> NoReturn:
    """Console-script entry point: ``tracker`` is ``python -m tracker``."""
    import signal

    # Only where Python's own handler is in place: a process started with SIGINT ignored
    # (a background job of a shell) keeps ignoring it.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_sigint)
    # SIGTERM (a service manager, `kill`, a CI timeout) ends a command as Ctrl-C does: one line,
    # exit 130, its children stopped and its runs closed by the same code.
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_IGN:  # python -m tracker set one for the import
        signal.signal(signal.SIGTERM, _on_sigint)
    try:
        cli.main(prog_name="tracker")
        code: Any = 0
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        # A Ctrl-C that lands outside a command's own handling (while click parses, or while
        # the process winds down) ends the same way: one line, exit 130, no traceback.
        click.echo("interrupted", err=True)
        code = INTERRUPTED
    _end_process(code)


def _end_process(code: Any) -> NoReturn:
    """Exit with ``code`` once the exit handlers have run, without the interpreter's teardown.

    With MLflow, SQLAlchemy and Optuna loaded, freeing some 2,000 modules at exit took most
    of a second after every command, its work already on disk. What a normal exit does that
    matters still happens here, in its order: other threads are waited for, the exit
    handlers run (MLflow's and logging's flushes, multiprocessing's joins), the output is
    flushed. Only the freeing is skipped, which the operating system does at once.
    """
    import atexit
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): Python prints it and exits 1
        click.echo(str(code), err=True)
        status = 1
    try:
        # As the interpreter does at exit: the threading exit hooks first (a thread pool a library
        # left open is told to stop there; joining its idle workers before that waits forever),
        # then every non-daemon thread is joined.
        shutdown = getattr(threading, "_shutdown", None)
        if shutdown is not None:
            shutdown()
        else:
            for thread in threading.enumerate():
                if thread is not threading.main_thread() and not thread.daemon:
                    thread.join()
        atexit._run_exitfuncs()
    except KeyboardInterrupt:
        status = INTERRUPTED
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to deliver it to
            pass
    os._exit(status)
