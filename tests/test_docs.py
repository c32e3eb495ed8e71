"""Docs are part of the product: every command has help and a page, and the README's commands are real."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from tracker.cli import cli

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help_and_a_reference_entry(name: str, invoke) -> None:
    result = invoke(name, "--help")
    assert result.exit_code == 0
    command = cli.commands[name]
    assert command.help and len(command.help.strip()) > 20
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"tracker {name} {param.opts[0]} has no help"
    assert f"<!-- cli-help: {name} -->" in (ROOT / "docs" / "cli.md").read_text()


def test_the_committed_cli_reference_and_config_snippets_are_what_the_commands_and_files_say() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("cli_help", ROOT / "docs" / "hooks" / "cli_help.py")
    assert spec is not None and spec.loader is not None
    hook = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hook)
    for page in hook.PAGES:
        text = (ROOT / page).read_text()
        assert "--8<--" not in text, f"{page} must hold the text itself, to read on GitHub"
    # A help text or an example changed without the page: the page says it is stale.
    assert hook.stale_pages() == [], "run python docs/hooks/cli_help.py and commit the pages"
    stale = (ROOT / "docs" / "cli.md").read_text().replace("Start the MLflow UI", "Start MLflow")
    assert hook.generated(stale) != stale


def test_every_docs_page_is_in_the_nav() -> None:
    import yaml

    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    listed = {page for entry in nav for page in entry.values()}
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert pages == listed


def test_readme_quick_start_is_two_commands_that_the_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line and not line.startswith("#")]
    assert len(commands) == 2
    sweep, tests = commands
    assert "python -m tracker sweep" in sweep
    assert "python -m pytest" in tests
    test_command = tests.split("&&")[-1].strip()
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_help_is_instant_without_heavy_imports() -> None:
    import subprocess
    import sys

    heavy = "('mlflow', 'optuna', 'sklearn', 'weasyprint', 'boto3')"
    code = f"import sys; from tracker.cli import cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_examples_validate() -> None:
    from tracker.config import load_settings

    for path in sorted((ROOT / "examples").glob("*.yaml")):
        settings = load_settings(path)
        assert re.match(r"^[a-z-]+$", settings.experiment)


@pytest.mark.slow
def test_the_python_page_runs(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sys

    page = (ROOT / "docs" / "python.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert len(blocks) >= 5
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    (tmp_path / "page.py").write_text("\n".join(blocks))
    done = subprocess.run([sys.executable, "page.py"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[2].split()[0] in {"Deploy", "Deploy and monitor", "Do not deploy", "No verdict"}
    for name in ("report.pdf", "roi.json", "realized.pdf", "realized.json"):
        assert (tmp_path / name).stat().st_size > 0
