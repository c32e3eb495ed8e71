"""A user's own Optuna objective, `module:function`, works unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
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

def logs_its_own(trial):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import mlflow

    x = trial.suggest_float("x", -10, 10)
    mlflow.log_metric("extra", 1.0)
    for step in range(3):
        mlflow.log_metric("curve", x * step, step=step)
    mlflow.log_param("library", "numpy")
    mlflow.set_tag("stage", "exploration")
    mlflow.log_text(f"x was {x}", "notes/x.txt")
    figure, axes = plt.subplots()
    axes.plot([0, 1], [0, x])
    mlflow.log_figure(figure, "plots/line.png")
    plt.close(figure)
    trial.set_user_attr("data_version", "2026-11")
    trial.set_user_attr("rows", 569)
    return (x - 2) ** 2

def nested_run(trial):
    import mlflow

    x = trial.suggest_float("x", 0, 1)
    with mlflow.start_run(nested=True):
        mlflow.log_metric("extra", 2.0)
    return x

def takes_params(trial, params):
    return (params["x"] - 2) ** 2 + params["depth"]

def one_named_value(trial):
    x = trial.suggest_float("x", -10, 10)
    return {"rmse": abs(x - 2)}

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


def test_what_the_objective_logs_lands_on_its_trials_run(workdir: Path, invoke) -> None:
    from tests.helpers import client

    result = invoke("sweep", "--config", _setup(workdir, "logs_its_own"), "--trials", "3", "--quiet")
    assert result.exit_code == 0, result.output
    runs = by_number(trial_runs("fn"))
    assert len(runs) == 3
    for run in runs.values():
        x = float(run.data.params["x"])
        assert run.data.metrics["extra"] == 1.0
        history = client().get_metric_history(run.info.run_id, "curve")
        assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [(0, 0.0), (1, x), (2, 2 * x)]
        assert run.data.params["library"] == "numpy"
        assert run.data.tags["stage"] == "exploration"
        # trial.set_user_attr: tags, as text or JSON.
        assert run.data.tags["data_version"] == "2026-11" and run.data.tags["rows"] == "569"
        artifacts = {a.path for a in client().list_artifacts(run.info.run_id, "notes")}
        artifacts |= {a.path for a in client().list_artifacts(run.info.run_id, "plots")}
        assert artifacts == {"notes/x.txt", "plots/line.png"}
        text = client().download_artifacts(run.info.run_id, "notes/x.txt", str(workdir))
        assert Path(text).read_text() == f"x was {x}"
    # Nothing strayed into MLflow's Default experiment, or anywhere else.
    default = client().get_experiment_by_name("Default")
    assert default is None or client().search_runs([default.experiment_id]) == []
    assert [e.name for e in client().search_experiments()] in (["fn"], ["fn", "Default"], ["Default", "fn"])


def test_a_nested_run_inside_the_objective_is_the_trials_run(workdir: Path, invoke) -> None:
    from tests.helpers import all_runs

    config = _setup(workdir, "nested_run", metric="y", direction="maximize")
    result = invoke("sweep", "--config", config, "--trials", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert [run.data.metrics["extra"] for run in trial_runs("fn")] == [2.0, 2.0]
    assert len(all_runs("fn")) == 3  # the sweep's run and its two trials' runs, nothing more


def test_the_search_space_is_offered_to_a_function_that_takes_params(workdir: Path, invoke) -> None:
    space = {"x": {"type": "float", "low": 0, "high": 4}, "depth": {"type": "int", "low": 1, "high": 3}}
    config = _setup(workdir, "takes_params")
    settings = {**yaml.safe_load(config.read_text()), "search_space": space}
    config.write_text(yaml.safe_dump(settings))
    result = invoke("sweep", "--config", config, "--trials", "4", "--quiet")
    assert result.exit_code == 0, result.output
    for run in trial_runs("fn"):
        params = run.data.params
        assert 0 <= float(params["x"]) <= 4 and params["depth"] in {"1", "2", "3"}
        assert run.data.metrics["val_loss"] == (float(params["x"]) - 2) ** 2 + int(params["depth"])
    # A function that takes the trial alone is never handed a space it would ignore.
    settings["objective"]["function"] = "myobjectives:quadratic"
    config.write_text(yaml.safe_dump(settings))
    refused = invoke("sweep", "--config", config, "--trials", "1", "--quiet", "--new-study")
    assert refused.exit_code == 2
    assert refused.output.strip().splitlines()[-1] == (
        "error: search_space: myobjectives:quadratic takes only the trial, so it would ignore the space; "
        "give it a second argument, params (filled from the space) or remove search_space"
    )


def test_a_single_named_value_is_the_objective(workdir: Path, invoke) -> None:
    config = workdir / "fn.yaml"
    (workdir / "myobjectives.py").write_text(OBJECTIVES)
    config.write_text(yaml.safe_dump({"experiment": "fn", "objective": {"function": "myobjectives:one_named_value",
                                                                        "direction": "minimize"}}))  # fmt: skip
    result = invoke("sweep", "--config", config, "--trials", "3", "--quiet")
    assert result.exit_code == 0, result.output
    for run in trial_runs("fn"):
        assert run.data.metrics["val_rmse"] == run.data.metrics["val_objective"] == abs(float(run.data.params["x"]) - 2)


def test_the_functions_module_is_found_beside_the_config_from_any_folder(
    workdir: Path, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = workdir / "project"
    project.mkdir()
    config = _setup(project, "quadratic")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke("sweep", "--config", config.absolute(), "--trials", "2", "--quiet")
    assert result.exit_code == 0, result.output
    assert len(trial_runs("fn", elsewhere)) == 2
