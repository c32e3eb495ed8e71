"""The command line: the only code that prints or exits.

``_group`` holds the ``tracker`` group and its one error mapping; ``_options`` the options
several commands share; every other module here is one command, which parses its flags,
calls a library function and formats what comes back. Heavy packages are imported inside
the commands so that ``--help`` answers at once.
"""

from __future__ import annotations

from tracker.cli import cost, grpc_proxy, realized, report, runs, sweep, ui
from tracker.cli._group import cli, main

__all__ = ["cli", "main"]

# Imported for their commands, which they register on ``cli``.
_COMMANDS = (cost, grpc_proxy, realized, report, runs, sweep, ui)
