"""A user's own Optuna objective, `module:function`, works unchanged."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import by_number, parent_runs, trial_runs

OBJECTIVES = """
import math

def quadratic(trial):
    x = trial.suggest_float("x", -10, 10)
    return (x - 2) ** 2

def with_metrics(trial):
    x = trial.suggest_float("x", -10, 10)
    return {"loss": (x - 2) ** 2, "test_loss": (x - 2.5) ** 2, "abs_x": abs(x)}

def sometimes_fails(trial):
    x = trial.suggest_int("x", 0, 100)
    if trial.number % 3 == 1:
        raise RuntimeError(f"data source unavailable for trial {trial.number}")
    return float(x)

def always_fails(trial):
    trial.suggest_int("x", 0, 3)
    raise ValueError("the feature store is down")

def reports_steps(trial):
    x = trial.suggest_float("x", 0, 1)
    for step in range(5):
        trial.report(x * step, step)
    return x * 5
"""


def _setup(workdir: Path, function: str, **objective: object) -> Path:
    (workdir / "myobjectives.py").write_text(OBJECTIVES)
    config = workdir / "fn.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "experiment": "fn",
                "objective": {
                    "function": f"myobjectives:{function}",
                    "metric": "loss",
                    "direction": "minimize",
                    **objective,
                },
            }
        )
    )
    return config


def test_float_objective(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--config", _setup(workdir, "quadratic"), "--trials", "5", "--quiet")
    assert result.exit_code == 0, result.output
    runs = by_number(trial_runs("fn"))
    assert len(runs) == 5
    for run in runs.values():
        x = float(run.data.params["x"])
        assert run.data.metrics["val_loss"] == (x - 2) ** 2
    values = [r.data.metrics["val_loss"] for r in runs.values()]
    assert f"val_loss = {min(values):.6g}" in result.output


def test_dict_objective_names_its_metrics(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--config", _setup(workdir, "with_metrics"), "--trials", "3", "--quiet")
    assert result.exit_code == 0, result.output
    runs = trial_runs("fn")
    assert len(runs) == 3
    for run in runs:
        assert {"val_loss", "test_loss", "val_abs_x"} <= set(run.data.metrics)


def test_intermediate_reports_become_metric_steps(workdir: Path, invoke) -> None:
    from tests.helpers import client

    result = invoke(
        "sweep",
        "--config",
        _setup(workdir, "reports_steps", metric="score", direction="maximize"),
        "--trials",
        "2",
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    runs = trial_runs("fn")
    assert len(runs) == 2
    for run in runs:
        history = client().get_metric_history(run.info.run_id, "val_score")
        assert [m.step for m in history] == [0, 1, 2, 3, 4, 5]


def test_an_unnamed_value_is_logged_as_objective(workdir: Path, invoke) -> None:
    config = workdir / "fn.yaml"
    (workdir / "myobjectives.py").write_text(OBJECTIVES)
    config.write_text(yaml.safe_dump({"experiment": "fn", "objective": {"function": "myobjectives:quadratic",
                                                                        "direction": "minimize"}}))  # fmt: skip
    result = invoke("sweep", "--config", config, "--trials", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert "best trial: #" in result.output and "val_objective = " in result.output
    assert all("val_objective" in run.data.metrics and "val_f1" not in run.data.metrics for run in trial_runs("fn"))


def test_a_failing_trial_is_recorded_and_the_sweep_goes_on(workdir: Path, invoke) -> None:
    config = _setup(workdir, "sometimes_fails", metric="x", direction="maximize")
    result = invoke("sweep", "--config", config, "--trials", "4", "--quiet")
    # The sweep went on to four completed trials; each failure was said as it happened, and the
    # exit code says some failed (none are allowed by default).
    assert result.exit_code == 1, result.output
    for number in (1, 4):
        assert f"trial {number} failed: RuntimeError: data source unavailable for trial {number}" in result.output
    assert "trials: 4 complete, 2 fail" in result.output
    assert result.output.strip().splitlines()[-1] == (
        "error: 2 trial(s) failed (the first: RuntimeError: data source unavailable for trial 1); fix the "
        "objective, or allow failures with limits.max_failed_trials (now 0)"
    )
    runs = by_number(trial_runs("fn"))
    failed = {n: r for n, r in runs.items() if r.info.status == "FAILED"}
    assert set(failed) == {1, 4}
    for number, run in failed.items():
        assert run.data.tags["tracker.state"] == "FAIL"
        assert run.data.tags["tracker.error"] == f"RuntimeError: data source unavailable for trial {number}"
    assert sum(r.info.status == "FINISHED" for r in runs.values()) == 4
    # Allowed failures: the same sweep, resumed to six trials, ends 0.
    allowed = yaml.safe_load(config.read_text())
    allowed["limits"] = {"max_failed_trials": 5}
    config.write_text(yaml.safe_dump(allowed))
    again = invoke("sweep", "--config", config, "--trials", "5", "--quiet")
    assert again.exit_code == 0, again.output


def test_every_trial_failing_exits_1_with_the_reason(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--config", _setup(workdir, "always_fails"), "--trials", "3", "--quiet")
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        "error: every trial failed; the first error was: ValueError: the feature store is down"
    )
    [parent] = parent_runs("fn")
    assert parent.info.status == "FAILED"
    assert all(r.info.status == "FAILED" for r in trial_runs("fn"))


def test_unimportable_function_is_a_config_error(workdir: Path, invoke) -> None:
    config = _setup(workdir, "nope")
    result = invoke("sweep", "--config", config)
    assert result.exit_code == 2
    assert "objective.function: module 'myobjectives' has no function 'nope'" in result.output
