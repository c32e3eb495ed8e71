"""The generated parts of the docs, committed as text so that they read on GitHub too.

``docs/cli.md`` holds each command's own ``--help``, and the configuration page holds the
example configs, each between a marker and its end:

    <!-- cli-help: sweep -->  ...  <!-- /cli-help -->
    <!-- file: examples/marketing.yaml -->  ...  <!-- /file -->

``python docs/hooks/cli_help.py`` writes them again from the commands and the files; a test
fails when the committed text differs. As an MkDocs hook it stops a build from stale pages.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("docs/cli.md", "docs/configuration.md")
_BLOCK = re.compile(
    r"^<!-- (?P<kind>cli-help|file): (?P<name>[A-Za-z0-9_./-]*) -->\n.*?^<!-- /(?P=kind) -->$",
    re.MULTILINE | re.DOTALL,
)
# Help is wrapped at a fixed width, so the text does not depend on the terminal that wrote it.
_WIDTH = 100


def help_text(command: str) -> str:
    from tracker.cli import cli

    settings = {**cli.context_settings, "terminal_width": _WIDTH, "max_content_width": _WIDTH}
    with click.Context(cli, info_name="tracker", **settings) as ctx:
        if not command:
            return cli.get_help(ctx)
        sub = cli.get_command(ctx, command)
        if sub is None:
            raise ValueError(f"docs name a command that does not exist: {command}")
        with click.Context(sub, info_name=command, parent=ctx) as sub_ctx:
            return sub.get_help(sub_ctx)


def _fill(match: re.Match[str]) -> str:
    kind, name = match.group("kind"), match.group("name")
    if kind == "cli-help":
        body, language = help_text(name), "text"
    else:
        body, language = (ROOT / name).read_text().rstrip("\n"), "yaml"
    return f"<!-- {kind}: {name} -->\n```{language}\n{body}\n```\n<!-- /{kind} -->"


def generated(markdown: str) -> str:
    """``markdown`` with every generated block written again."""
    return _BLOCK.sub(_fill, markdown)


def stale_pages() -> list[str]:
    return [page for page in PAGES if generated((ROOT / page).read_text()) != (ROOT / page).read_text()]


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if generated(markdown) != markdown:
        raise ValueError(f"{page.file.src_path} is stale: run python docs/hooks/cli_help.py and commit it")
    return markdown


if __name__ == "__main__":
    for page in PAGES:
        path = ROOT / page
        path.write_text(generated(path.read_text()))
    sys.exit(0)
