"""The one exception root of the project.

This module imports nothing of ours, so every package can raise these errors and
``tracker.cli`` can catch them in one place. The exit code travels with the error:
1 when the work failed, 2 when the user's input is wrong.
"""

from __future__ import annotations

__all__ = ["ConfigError", "TrackerError", "UsageError", "clip", "first_line"]


class TrackerError(Exception):
    """The work failed: a store, a service or a trial did not do what was asked.

    The message is one line saying what went wrong and what to do next.
    """

    exit_code = 1


class UsageError(TrackerError):
    """The user's input is wrong: a flag, a file, a name, a value.

    The message names the input, the value given, and what is allowed.
    """

    exit_code = 2


class ConfigError(UsageError):
    """The configuration file or a flag overriding it failed validation."""


def first_line(error: BaseException, limit: int = 160) -> str:
    """Another library's error as part of one of ours: its first line, spaces folded, clipped.

    DuckDB, SQLAlchemy and scikit-learn follow their first line with diagnostics, SQL and
    links that are for developers; ``--debug`` still shows them all.
    """
    text = str(error).strip()
    return clip(" ".join(text.splitlines()[0].split()) if text else type(error).__name__, limit)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, marked "..." where it was cut: enough to recognise, never a flood."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
