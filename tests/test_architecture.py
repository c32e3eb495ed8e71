"""The structure the docs' architecture page promises, checked: small functions, one owner of
the MLflow layout, our packages never hidden by a user's files, no global logging changes."""

from __future__ import annotations

import ast
import logging
import os
import subprocess
import sys
import warnings
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from tests.conftest import tracker_command

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ("tracker", "tuning", "cost", "reports")


def _sources(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def test_no_library_function_is_over_60_lines() -> None:
    long = []
    for path in _sources(*LIBRARY):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def _tag_keys() -> set[str]:
    """The values of tracker.runs' tag constants: our part of the MLflow layout."""
    tree = ast.parse((ROOT / "tracker" / "runs.py").read_text())
    keys = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            name = node.targets[0].id if isinstance(node.targets[0], ast.Name) else ""
            if name.startswith("_TAG_") and str(node.value.value).startswith("tracker."):
                keys.add(str(node.value.value))
    return keys


def test_only_the_record_module_spells_out_our_tag_keys() -> None:
    keys = _tag_keys()
    assert {"tracker.role", "tracker.best_run_id", "tracker.train_mean"} <= keys
    found = []
    for path in _sources(*LIBRARY, "benchmarks"):
        if path == ROOT / "tracker" / "runs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in keys:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert found == []


def test_the_layers_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout


@pytest.mark.slow
def test_a_users_cost_reports_and_tuning_modules_do_not_hide_ours(workdir: Path) -> None:
    for name in ("cost", "reports", "tuning", "tracker_objective_helpers"):
        (workdir / f"{name}.py").write_text("raise ImportError('the user module was imported')\n")
    (workdir / "myobjective.py").write_text("def objective(trial):\n    return trial.suggest_float('x', 0, 1)\n")
    config = workdir / "fn.yaml"
    config.write_text(
        yaml.safe_dump({"experiment": "shadow", "objective": {"function": "myobjective:objective", "metric": "x"}})
    )
    result = subprocess.run(
        tracker_command("sweep", "--config", str(config), "--trials", "2", "--jobs", "2", "--quiet"),
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "reached 2 finished trials" in result.stdout


def test_a_function_objective_named_like_our_packages_is_refused(workdir: Path, invoke) -> None:
    config = workdir / "fn.yaml"
    config.write_text(yaml.safe_dump({"objective": {"function": "cost:objective", "metric": "x"}}))
    result = invoke("sweep", "--config", config, "--quiet")
    assert result.exit_code == 2
    assert "objective.function: 'cost' is a package of tracker itself; rename your module" in result.output


def test_the_library_leaves_logging_and_warning_filters_as_it_found_them(workdir: Path) -> None:
    # ...and MLflow's tracking URI: mlflow.set_tracking_uri also sets MLFLOW_TRACKING_URI.
    import matplotlib.pyplot  # noqa: F401 - third-party imports set filters of their own; ours may not
    import mlflow.sklearn  # noqa: F401
    import optuna
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401
    import weasyprint  # noqa: F401

    from reports.build import build_report
    from reports.publish import publish_report
    from tracker.config import load_settings
    from tracker.runs import RunStore
    from tuning.sweep import run_sweep

    settings = load_settings(overrides={"limits.max_trials": 3, "objective": {"trainer": "logistic_regression"}})
    filters_before = list(warnings.filters)
    levels_before = {name: logging.getLogger(name).level for name in ("optuna", "weasyprint", "fontTools")}
    verbosity = optuna.logging.get_verbosity()
    assert "MLFLOW_TRACKING_URI" not in os.environ
    summary = run_sweep(settings, hourly_usd=Decimal("0.23"))
    assert summary.best is not None
    store = RunStore.open(settings.tracking_uri)
    report = build_report(
        settings.model_copy(update={"roi": settings.roi.model_copy(update={"value_per_outcome": _values()})}),
        store=store,
    )
    publish_report(report, pdf=workdir / "r.pdf", html=workdir / "r.html", json_path=workdir / "r.json", store=store)
    assert (workdir / "r.pdf").stat().st_size > 0
    assert list(warnings.filters) == filters_before
    assert {name: logging.getLogger(name).level for name in levels_before} == levels_before
    assert optuna.logging.get_verbosity() == verbosity
    assert "MLFLOW_TRACKING_URI" not in os.environ


def _values():  # type: ignore[no-untyped-def]
    from tracker.config import OutcomeValues

    return OutcomeValues(true_positive=40, false_positive=-5, false_negative=0, true_negative=0)
