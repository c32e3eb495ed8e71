"""Commands that only read never write: no store made empty, and a missing experiment names those there are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from tracker.cli import cli

READERS = [
    ("runs",),
    ("report",),
    ("cost", "--source", "estimate"),
    ("realized", "--outcomes", "log.csv"),
    ("ui",),
]


@pytest.mark.parametrize("args", READERS, ids=lambda a: a[0])
def test_a_reader_in_an_empty_folder_leaves_it_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args) -> None:
    monkeypatch.chdir(tmp_path)
    if args[0] == "realized":
        (tmp_path / "log.csv").write_text("timestamp,y_score,y_true\n2027-01-01T00:00:00Z,0.5,1\n")
    before = sorted(os.listdir(tmp_path))
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: no MLflow store at {tmp_path / 'mlflow.db'}"), lines
    assert sorted(os.listdir(tmp_path)) == before  # no mlflow.db, no cache, nothing


def test_a_missing_experiment_names_the_ones_there(workdir: Path, invoke) -> None:
    result = invoke("runs", "--experiment", "churn")
    assert result.exit_code == 2, result.output
    assert "no experiment 'churn' in" in result.output and "(it holds 'Default')" in result.output
