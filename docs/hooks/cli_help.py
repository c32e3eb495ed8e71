"""MkDocs hook: the CLI reference is the commands' own --help, so it cannot drift."""

from __future__ import annotations

import re
from typing import Any

import click

MARKER = re.compile(r"^<!-- cli-help: (?P<command>[a-z-]*) -->$", re.MULTILINE)


def help_text(command: str) -> str:
    from tracker.cli import cli

    args = [command, "--help"] if command else ["--help"]
    with click.Context(cli, info_name="tracker") as ctx:
        if not command:
            return cli.get_help(ctx)
        sub = cli.get_command(ctx, command)
        if sub is None:
            raise ValueError(f"docs name a command that does not exist: {command}")
        with click.Context(sub, info_name=command, parent=ctx) as sub_ctx:
            return sub.get_help(sub_ctx)
    raise AssertionError(args)


def on_page_markdown(markdown: str, **_: Any) -> str:
    return MARKER.sub(lambda m: "```text\n" + help_text(m.group("command")) + "\n```", markdown)
