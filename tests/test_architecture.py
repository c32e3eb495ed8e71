"""The structure the docs' architecture page promises, checked: small functions, one owner of
the MLflow layout, our packages never hidden by a user's files, no global logging changes."""

from __future__ import annotations

import ast
import json
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


# Names the layout shares with ordinary words: a price table's column, a figure's label, a
# command's word. Spelled out, they are checked only where they name something in the record.
_ORDINARY = {"currency", "trial", "study", "sweep", "error", "worker", "surplus", "psi", "npv", "roi", "reports",
             "realized", "predictions", "hourly_usd", "value", "net"}  # fmt: skip
# Calls and subscripts whose string argument is a name in the MLflow or Optuna record.
_RECORD_CALLS = {"set_user_attr", "set_tag", "log_metric", "log_param", "set_model_version_tag", "log_artifact"}
_RECORD_MAPPINGS = {"metrics", "params", "tags", "user_attrs"}


def test_no_library_module_is_over_400_lines() -> None:
    sizes = {path: len(path.read_text().splitlines()) for path in _sources(*LIBRARY)}
    long = [f"{path.relative_to(ROOT)} ({n} lines)" for path, n in sizes.items() if n > 400]
    assert long == []


def test_the_reports_package_passes_mypy_strict() -> None:
    # The figures are typed from the source to the page: no dict[str, Any] contract left to read by key.
    mypy = Path(sys.executable).with_name("mypy")
    result = subprocess.run([str(mypy), "--strict", "reports"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]


def _recorded_names() -> set[str]:
    """Every name tracker.record.layout defines: our part of the MLflow and Optuna record."""
    import tracker.record.layout as layout

    names: set[str] = set()
    for constant, value in vars(layout).items():
        if constant.isupper():
            names.update(value if isinstance(value, tuple | frozenset) else [value])
    return {name for name in names if isinstance(name, str)}


def _names_in_record_calls(tree: ast.AST) -> list[ast.Constant]:
    """String arguments of record calls (``trial.set_user_attr("x", ...)``, ``run.metrics.get("x")``,
    ``run.tags["x"]``): the places where an ordinary word is a recorded name."""
    found: list[ast.Constant] = []
    for node in ast.walk(tree):
        target: ast.AST | None = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
            owner = node.func.value
            if node.func.attr in _RECORD_CALLS:
                target = node.args[0]
            elif node.func.attr == "get" and isinstance(owner, ast.Attribute) and owner.attr in _RECORD_MAPPINGS:
                target = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute):
            if node.value.attr in _RECORD_MAPPINGS:
                target = node.slice
        if isinstance(target, ast.Constant) and isinstance(target.value, str):
            found.append(target)
    return found


def _exported(tree: ast.Module) -> set[int]:
    """Line numbers of ``__all__``: a function may share a name with a metric."""
    return {
        line
        for stmt in tree.body
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets)
        for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
    }


def test_only_the_layout_spells_out_a_recorded_name() -> None:
    names = _recorded_names()
    assert {"tracker.role", "cost_usd_estimated", "duration_seconds", "roi.json", "surplus", "npv"} <= names
    distinctive = names - _ORDINARY
    layout = ROOT / "tracker" / "record" / "layout.py"
    found = []
    for path in _sources(*LIBRARY, "benchmarks"):
        if path == layout:
            continue
        tree = ast.parse(path.read_text())
        exported = _exported(tree)
        spelled = [
            node
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in distinctive and node.lineno not in exported
        ]
        spelled += [node for node in _names_in_record_calls(tree) if node.value in names]
        found += [f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}" for node in spelled]
    assert found == []


def test_the_record_check_sees_a_name_spelled_out() -> None:
    # The check above, on code written the way this project used to write it.
    old = ast.parse(
        'trial.set_user_attr("surplus", True)\n'
        'seconds = run.metrics.get("duration_seconds")\n'
        'x = run.tags["tracker.role"]\n'
    )
    assert [node.value for node in _names_in_record_calls(old)] == ["surplus", "duration_seconds", "tracker.role"]


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
        yaml.safe_dump(
            {
                "experiment": "shadow",
                "objective": {"function": "myobjective:objective", "metric": "x", "direction": "maximize"},
            }
        )
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
    config.write_text(
        yaml.safe_dump({"objective": {"function": "cost:objective", "metric": "x", "direction": "maximize"}})
    )
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

    from reports.publish import publish_report
    from reports.roi_report import build_report
    from tracker.config import load_settings
    from tracker.record import Record
    from tuning.sweep import run_sweep

    settings = load_settings(overrides={"limits.max_trials": 3, "objective": {"trainer": "logistic_regression"}})
    filters_before = list(warnings.filters)
    levels_before = {name: logging.getLogger(name).level for name in ("optuna", "weasyprint", "fontTools")}
    verbosity = optuna.logging.get_verbosity()
    assert "MLFLOW_TRACKING_URI" not in os.environ
    summary = run_sweep(settings, hourly_usd=Decimal("0.23"))
    assert summary.best is not None
    record = Record.open(settings.tracking_uri)
    report = build_report(
        settings.model_copy(update={"roi": settings.roi.model_copy(update={"value_per_outcome": _values()})}),
        record=record,
    )
    publish_report(report, pdf=workdir / "r.pdf", html=workdir / "r.html", json_path=workdir / "r.json", record=record)
    assert (workdir / "r.pdf").stat().st_size > 0
    assert list(warnings.filters) == filters_before
    assert {name: logging.getLogger(name).level for name in levels_before} == levels_before
    assert optuna.logging.get_verbosity() == verbosity
    assert "MLFLOW_TRACKING_URI" not in os.environ


def _values():  # type: ignore[no-untyped-def]
    from tracker.config import ValuePerOutcome

    return ValuePerOutcome(true_positive=40, false_positive=-5, false_negative=0, true_negative=0)


@pytest.mark.slow
def test_a_sweep_a_report_and_a_realized_run_leave_the_process_as_they_found_it(tmp_path: Path) -> None:
    # In a fresh interpreter, so the state is taken before the first import of our packages:
    # warnings filters, every logger's level and filters, rcParams, the backend, sys.path, os.environ.
    out = tmp_path / "changes.json"
    work = tmp_path / "work"
    work.mkdir()
    probe = ROOT / "tests" / "side_effects_probe.py"
    result = subprocess.run(
        [sys.executable, str(probe), str(ROOT / "examples"), str(out)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(out.read_text()) == {}
