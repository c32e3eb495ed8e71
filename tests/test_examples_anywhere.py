"""Every example runs from an empty folder given its config's absolute path: paths in a config are
relative to the config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import parent_runs

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.slow
@pytest.mark.parametrize("config", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_an_example_runs_from_any_folder(workdir: Path, invoke, config: Path) -> None:
    assert Path.cwd() == workdir and not (workdir / "examples").exists()
    beside = sorted(os.listdir(EXAMPLES))
    swept = invoke("sweep", "--config", config, "--trials", "2", "--quiet")
    assert swept.exit_code == 0, swept.output
    # The store is the working directory's, as for any default path; the data came from beside the config.
    assert (workdir / "mlflow.db").exists() and parent_runs(_experiment(config))
    reported = invoke("report", "--config", config)
    assert reported.exit_code == 0, reported.output
    assert (workdir / "report.pdf").exists()
    assert sorted(os.listdir(EXAMPLES)) == beside  # nothing written beside the examples


def _experiment(config: Path) -> str:
    import yaml

    return str(yaml.safe_load(config.read_text()).get("experiment", "tracker-demo"))
