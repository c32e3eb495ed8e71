"""`tracker sweep` as a user types it, checked against the real MLflow store it writes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.helpers import all_runs, by_number, client, finished, in_terminal, parent_runs, study, trial_runs

CLASSIFICATION_METRICS = {"accuracy", "precision", "recall", "f1", "roc_auc", "tp", "fp", "fn", "tn"}


def write_config(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_default_sweep_records_everything_the_ui_compares(
    workdir: Path, invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRACKER_PLOTS", "1")  # the default, which the other tests leave out
    result = invoke("sweep")
    assert result.exit_code == 0, result.output
    assert (workdir / "mlflow.db").exists() and (workdir / "optuna.journal").exists()
    out = result.output
    assert "reached 20 finished trials" in out
    assert "best trial: #" in out and "MLflow run:" in out
    # The printed command runs when pasted into a shell without the virtual environment active.
    [line] = [line for line in out.splitlines() if line.startswith("Open the UI: ")]
    command = shlex.split(line.removeprefix("Open the UI: ").split(" ui --tracking-uri")[0])
    bare = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    bare["PATH"] = "/usr/bin:/bin"
    pasted = subprocess.run([*command, "ui", "--help"], env=bare, cwd=workdir, capture_output=True, text=True)
    assert pasted.returncode == 0 and "Usage:" in pasted.stdout, (command, pasted.stderr[-500:])

    c = client()
    experiment = c.get_experiment_by_name("tracker-demo")
    # The model-training (runs table) view, not the GenAI one.
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"

    [parent] = parent_runs()
    assert parent.info.status == "FINISHED"
    assert parent.data.params["strategy"] == "bayesian"
    assert parent.data.params["max_trials"] == "20"
    assert parent.data.metrics["trials_complete"] + parent.data.metrics.get("trials_pruned", 0) == 20
    assert "best_val_f1" in parent.data.metrics

    trials = by_number(trial_runs())
    assert sorted(trials) == list(range(20))
    for number, run in trials.items():
        assert run.info.run_name == f"trial-{number}"
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.status == "FINISHED"
        assert run.data.tags["tracker.state"] == "COMPLETE"
        metrics = set(run.data.metrics)
        assert {f"val_{m}" for m in CLASSIFICATION_METRICS} <= metrics
        assert {f"test_{m}" for m in CLASSIFICATION_METRICS} <= metrics
        assert {"duration_seconds", "cost_usd_estimated"} <= metrics
        assert set(run.data.params) == {"n_estimators", "max_depth", "min_samples_leaf", "max_features"}
        # Intermediate values are metric steps; the final value is the latest step.
        history = c.get_metric_history(run.info.run_id, "val_f1")
        assert [m.step for m in history] == [0, 1, 2, 3]
        assert history[-1].value == run.data.metrics["val_f1"]

    # The best trial is the one printed, registered as champion, with its predictions.
    best_id = parent.data.tags["tracker.best_run_id"]
    assert f"MLflow run: {best_id}" in out
    best_value = max(r.data.metrics["val_f1"] for r in trials.values())
    assert c.get_run(best_id).data.metrics["val_f1"] == best_value
    version = c.get_model_version_by_alias("tracker-demo", "champion")
    assert version.run_id == best_id
    folder = workdir / "artifacts"
    test_path = c.download_artifacts(best_id, "predictions/test.parquet", str(folder))
    frame = pd.read_parquet(test_path)
    assert list(frame.columns) == ["y_true", "y_pred", "y_score"]
    assert len(frame) == 57  # 10% of the 569 rows of breast_cancer
    accuracy = (frame.y_true == frame.y_pred).mean()
    assert accuracy == pytest.approx(c.get_run(best_id).data.metrics["test_accuracy"])
    assert len(pd.read_parquet(c.download_artifacts(best_id, "predictions/val.parquet", str(folder)))) == 57

    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    info = mlflow.models.get_model_info("models:/tracker-demo@champion")
    assert info.signature is not None and info.signature.inputs is not None
    assert info.run_id == best_id

    # Lineage: the parent run and the champion name their data, one dataset input per split.
    for run_id in (parent.info.run_id, best_id):
        inputs = c.get_run(run_id).inputs.dataset_inputs
        contexts = {i.tags[0].value: i.dataset for i in inputs if i.tags}
        # MLflow's evaluation names its own input (the test split) by the metrics' prefix.
        assert contexts.pop("test_eval_", None) is not None or run_id != best_id
        assert set(contexts) == {"training", "validation", "test"}
        assert {d.name for d in contexts.values()} == {"breast_cancer"}
        assert len({d.digest for d in contexts.values()}) == 3
        assert json.loads(contexts["test"].profile)["num_rows"] == 57
    # MLflow's own evaluation of the champion on the test split: its metrics and plots.
    champion = c.get_run(best_id)
    assert champion.data.metrics["test_eval_example_count"] == 57
    assert {"test_eval_roc_auc", "test_eval_precision_recall_auc", "test_eval_log_loss"} <= set(champion.data.metrics)
    assert not {"roc_auc", "accuracy_score"} & set(champion.data.metrics)  # never mistaken for a trial's metric
    plots = {a.path for a in c.list_artifacts(best_id)}
    assert {"test_eval_roc_curve_plot.png", "test_eval_precision_recall_curve_plot.png"} <= plots
    assert {"test_eval_confusion_matrix.png", "test_eval_lift_curve_plot.png"} <= plots
    assert champion.info.status == "FINISHED"
    # Optuna's own plots of the study on the parent run: PNGs, and one page that shows them.
    plots = {a.path for a in c.list_artifacts(parent.info.run_id, "optuna")}
    want = {"optuna/history.png", "optuna/importance.png", "optuna/parallel.png", "optuna/intermediate.png"}
    assert plots == want | {"optuna/plots.html"}
    page = Path(c.download_artifacts(parent.info.run_id, "optuna/plots.html", str(workdir))).read_text()
    assert page.count("data:image/png;base64,") == 4 and "Parameter importance" in page
    png = Path(c.download_artifacts(parent.info.run_id, "optuna/importance.png", str(workdir))).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    # The searched space and the objective on the parent; source and user on every run.
    assert parent.data.params["objective"] == "random_forest"
    assert set(json.loads(parent.data.params["search_space"])) == set(c.get_run(best_id).data.params)
    for run in [parent, *trial_runs()]:
        assert run.data.tags["mlflow.source.name"] == "tracker (embedded defaults)"
        assert run.data.tags["mlflow.user"] and run.data.tags["mlflow.source.type"] == "LOCAL"


def test_trials_is_the_total_to_reach(workdir: Path, invoke) -> None:
    assert invoke("sweep", "--trials", "3", "--quiet").exit_code == 0
    assert finished(study()) == 3
    again = invoke("sweep", "--trials", "3", "--quiet")
    assert again.exit_code == 0 and "reached 3 finished trials" in again.output
    assert finished(study()) == 3 and len(trial_runs()) == 3
    more = invoke("sweep", "--trials", "5", "--quiet")
    assert more.exit_code == 0
    assert finished(study()) == 5
    assert sorted(by_number(trial_runs())) == [0, 1, 2, 3, 4]
    assert len(parent_runs()) == 1  # one sweep, one parent run, however often it is resumed


def test_config_file_flags_and_environment(workdir: Path, invoke, tmp_path: Path) -> None:
    config = write_config(
        workdir / "sweep.yaml",
        {
            "experiment": "churn",
            "tags": {"project": "churn", "team": "growth"},
            "objective": {"trainer": "logistic_regression", "dataset": "breast_cancer", "metric": "roc_auc"},
            "search_space": {"C": {"type": "float", "low": 0.01, "high": 10, "log": True}},
            "strategy": "random",
            "limits": {"max_trials": 6},
        },
    )
    other_store = tmp_path / "elsewhere"
    other_store.mkdir()
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{other_store / 'mlflow.db'}"}
    result = invoke("sweep", "--config", config, "--trials", "3", "--quiet", env=env)
    assert result.exit_code == 0, result.output
    # The environment variable chose the store; the flag beat the file's max_trials.
    runs = trial_runs("churn", folder=other_store)
    assert len(runs) == 3
    for run in runs:
        assert run.data.tags["project"] == "churn" and run.data.tags["team"] == "growth"
        assert set(run.data.params) == {"C"}
        assert 0.01 <= float(run.data.params["C"]) <= 10
    [parent] = parent_runs("churn", folder=other_store)
    assert parent.data.tags["project"] == "churn"
    assert parent.data.params["strategy"] == "random"
    # The flag beats the environment variable.
    here = invoke(
        "sweep",
        "--config",
        config,
        "--trials",
        "2",
        "--quiet",
        "--tracking-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--study",
        "churn-2",
        env=env,
    )
    assert here.exit_code == 0, here.output
    assert len(trial_runs("churn")) == 2


def test_regression_example_logs_regression_metrics(workdir: Path, invoke) -> None:
    config = Path(__file__).parent.parent / "examples" / "regression.yaml"
    result = invoke("sweep", "--config", config, "--trials", "3", "--quiet")
    assert result.exit_code == 0, result.output
    name = yaml.safe_load(config.read_text())["experiment"]
    runs = trial_runs(name)
    assert len(runs) == 3
    for run in runs:
        assert {"val_mse", "val_rmse", "val_mae", "val_r2", "test_mse", "test_rmse", "test_mae", "test_r2"} <= set(
            run.data.metrics
        )
    best = client().get_run(parent_runs(name)[0].data.tags["tracker.best_run_id"])
    frame = pd.read_parquet(client().download_artifacts(best.info.run_id, "predictions/test.parquet", str(workdir)))
    assert list(frame.columns) == ["y_true", "y_pred"]


def test_classification_example_runs(workdir: Path, invoke) -> None:
    config = Path(__file__).parent.parent / "examples" / "classification.yaml"
    result = invoke("sweep", "--config", config, "--trials", "2", "--quiet")
    assert result.exit_code == 0, result.output


def test_csv_and_parquet_datasets_with_a_named_target(workdir: Path, invoke) -> None:
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
    frame["cultivar"] = frame["cultivar"].map({0: "barolo", 1: "grignolino", 2: "barbera"})
    frame.to_csv(workdir / "wine.csv", index=False)
    frame.to_parquet(workdir / "wine.parquet", index=False)
    for name in ("wine.csv", "wine.parquet"):
        config = write_config(
            workdir / f"{name}.yaml",
            {
                "experiment": name,
                "objective": {"trainer": "random_forest", "dataset": name, "target": "cultivar", "metric": "accuracy"},
            },
        )
        result = invoke("sweep", "--config", config, "--trials", "2", "--quiet")
        assert result.exit_code == 0, result.output
        runs = trial_runs(name)
        assert len(runs) == 2
        for run in runs:
            # Three classes: macro averages, no binary confusion counts.
            assert {"val_accuracy", "val_f1", "val_roc_auc"} <= set(run.data.metrics)
            assert "val_tp" not in run.data.metrics


def test_grid_stops_when_every_point_is_tried(workdir: Path, invoke) -> None:
    config = write_config(
        workdir / "grid.yaml",
        {
            "objective": {"trainer": "logistic_regression", "metric": "accuracy"},
            "search_space": {"C": {"type": "categorical", "choices": [0.1, 1.0, 10.0]}},
            "strategy": "grid",
        },
    )
    result = invoke("sweep", "--config", config, "--quiet")
    assert result.exit_code == 0, result.output
    assert "every point of the grid (3) was tried" in result.output
    # Named after its config file, as every config without `experiment:` is.
    assert sorted(float(r.data.params["C"]) for r in trial_runs("grid")) == [0.1, 1.0, 10.0]


def test_hyperband_prunes_and_pruned_runs_keep_their_steps(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--strategy", "hyperband", "--trials", "16", "--quiet")
    assert result.exit_code == 0, result.output
    pruned = [r for r in trial_runs() if r.data.tags["tracker.state"] == "PRUNED"]
    assert pruned, "hyperband pruned nothing in 16 trials"
    c = client()
    for run in pruned:
        assert run.info.status == "KILLED"
        history = c.get_metric_history(run.info.run_id, "val_f1")
        assert 1 <= len(history) < 4  # stopped before the last stage
    assert finished(study()) == 16


def test_median_early_stopping_is_a_pruner(workdir: Path, invoke) -> None:
    config = write_config(workdir / "median.yaml", {"early_stopping": "median", "strategy": "random"})
    result = invoke("sweep", "--config", config, "--trials", "8", "--quiet")
    assert result.exit_code == 0, result.output
    assert finished(study("median")) == 8


def test_completion_criteria(workdir: Path, invoke) -> None:
    target = write_config(workdir / "target.yaml", {"completion": {"target_value": 0.5}, "study": "target"})
    result = invoke("sweep", "--config", target, "--quiet")
    assert result.exit_code == 0 and "target value 0.5 reached" in result.output
    assert finished(study("target")) == 1

    patience = write_config(
        workdir / "patience.yaml",
        {
            "completion": {"max_trials_without_improvement": 2},
            "study": "patience",
            "strategy": "random",
            "objective": {"trainer": "logistic_regression", "metric": "accuracy"},
            "search_space": {"C": {"type": "float", "low": 50, "high": 100}},
        },
    )
    result = invoke("sweep", "--config", patience, "--trials", "30", "--quiet")
    assert result.exit_code == 0 and "no improvement in the last 2 trials" in result.output
    assert finished(study("patience")) < 30


def test_warm_start_seeds_the_new_study_with_the_parents_best(workdir: Path, invoke) -> None:
    assert invoke("sweep", "--study", "parent", "--trials", "4", "--quiet").exit_code == 0
    parent = study("parent")
    top = sorted((t for t in parent.trials if t.values), key=lambda t: t.values[0], reverse=True)[:2]
    config = write_config(workdir / "warm.yaml", {"study": "child", "warm_start": {"from_study": "parent", "top_k": 2}})
    assert invoke("sweep", "--config", config, "--trials", "3", "--quiet").exit_code == 0
    child = study("child")
    assert [t.params for t in child.trials[:2]] == [t.params for t in top]


def test_max_runtime_stops_starting_trials(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--timeout", "2", "--trials", "500", "--quiet")
    assert result.exit_code == 0, result.output
    assert "time limit" in result.output
    assert 1 <= finished(study()) < 500


def test_plain_progress_lines_when_not_a_terminal(workdir: Path, invoke) -> None:
    result = invoke("sweep", "--trials", "2")
    assert result.exit_code == 0
    assert "trial 0: COMPLETE" in result.output and "finished 2/2" in result.output
    quiet = invoke("sweep", "--trials", "3", "--quiet")
    assert "trial 2:" not in quiet.output


def test_runs_compares_the_latest_sweep_best_first(workdir: Path, invoke) -> None:
    assert invoke("sweep", "--trials", "5", "--quiet").exit_code == 0
    result = invoke("runs", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.output)
    assert len(rows) == 5
    values = [row["val_f1"] for row in rows]
    assert values == sorted(values, reverse=True)
    assert {"trial", "state", "val_f1", "test_f1", "duration_s", "cost_usd_estimated", "run_id"} <= set(rows[0])
    top = invoke("runs", "--top", "2", "--format", "csv")
    lines = top.output.strip().splitlines()
    assert lines[0].startswith("trial,state,val_f1,test_f1") and len(lines) == 3
    table = invoke("runs")
    assert "val_f1" in table.output and rows[0]["run_id"] in table.output
    assert all(r.info.status != "RUNNING" for r in all_runs())


@pytest.mark.slow
def test_a_sweep_can_tune_for_money(workdir: Path, invoke) -> None:
    values = {"true_positive": 90, "false_positive": -5, "false_negative": 0, "true_negative": 0}
    (workdir / "money.yaml").write_text(
        yaml.safe_dump(
            {
                "experiment": "money",
                "objective": {"trainer": "logistic_regression", "metric": "expected_value"},
                "roi": {"value_per_outcome": values, "production_positive_rate": 0.1, "bootstrap_replicates": 50},
            }
        )
    )
    assert invoke("sweep", "--config", "money.yaml", "--trials", "4", "--quiet").exit_code == 0
    c = client()
    trials = trial_runs("money")
    assert len(trials) == 4
    for run in trials:
        assert {"val_expected_value", "test_expected_value", "val_threshold"} <= set(run.data.metrics)
    [parent] = parent_runs("money")
    best = c.get_run(parent.data.tags["tracker.best_run_id"])
    assert best.data.metrics["val_expected_value"] == max(r.data.metrics["val_expected_value"] for r in trials)
    # The logged value, by hand from the champion's validation predictions at its logged threshold.
    val = pd.read_parquet(c.download_artifacts(best.info.run_id, "predictions/val.parquet", str(workdir)))
    flagged = val["y_score"] >= best.data.metrics["val_threshold"]
    positive = val["y_true"] == 1
    tpr = (flagged & positive).sum() / positive.sum()
    fpr = (flagged & ~positive).sum() / (~positive).sum()
    # Over the report's default baseline, the better of acting on nobody (0) and on everyone:
    # 0.1 x 90 + 0.9 x -5 = 4.50 a prediction, so acting on everyone.
    by_hand = 0.1 * (tpr * 90) + 0.9 * (fpr * -5) - 4.5
    assert best.data.metrics["val_expected_value"] == pytest.approx(by_hand, abs=1e-9)
    runs = invoke("runs", "--config", "money.yaml", "--format", "csv")
    assert runs.output.splitlines()[0].startswith("trial,state,val_expected_value,test_expected_value")
    # The report says the sweep optimised money itself.
    assert invoke("report", "--config", "money.yaml").exit_code == 0
    notes = json.loads((workdir / "roi.json").read_text())["headline"]["notes"]
    assert any("optimised this money directly" in note for note in notes)

    # Regression: minus the cost of the errors.
    (workdir / "errors.yaml").write_text(
        yaml.safe_dump(
            {
                "experiment": "errors",
                "objective": {"trainer": "ridge", "dataset": "diabetes", "metric": "expected_value"},
                "roi": {"value_per_unit_error": 0.5},
            }
        )
    )
    assert invoke("sweep", "--config", "errors.yaml", "--trials", "2", "--quiet").exit_code == 0
    for run in trial_runs("errors"):
        assert run.data.metrics["val_expected_value"] == pytest.approx(-0.5 * run.data.metrics["val_mae"], rel=1e-12)


def test_the_runs_table_rounds_floats_as_the_summary_does_and_keeps_the_rest() -> None:
    from rich.console import Console

    from tracker.compare import RunTable

    row = {"trial": 4, "val_f1": 0.912345678, "learning_rate": "0.11775341936848115", "n": "168", "kind": "gini"}
    table = RunTable(
        "e", "1", "p" * 32, "val_f1", "maximize", tuple(row), (row,), params=("learning_rate", "n", "kind")
    )
    console = Console(record=True, width=200)
    console.print(table.to_rich(200)[0])
    text = console.export_text()
    assert "0.9123" in text and "0.1178" in text and "168" in text and "gini" in text
    assert "0.117753" not in text
    assert "0.11775341936848115" in table.to_csv()  # the machine-readable formats keep every digit
    # JSON keeps each parameter's type: numbers as numbers, text as text.
    [record] = table.to_records()
    assert record["learning_rate"] == 0.11775341936848115 and record["n"] == 168 and record["kind"] == "gini"


def test_runs_in_a_narrow_terminal_keeps_run_ids_and_headers_whole(workdir: Path, invoke) -> None:
    import sys

    assert invoke("sweep", "--trials", "3", "--quiet").exit_code == 0
    [parent] = parent_runs()
    # In a real 100-column terminal (a pseudo-terminal of that size), without colour codes.
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code, shown = in_terminal(
        [sys.executable, "-m", "tracker", "runs"], workdir, columns=100, env={**env, "NO_COLOR": "1", "TERM": "xterm"}
    )
    assert code == 0, shown
    table = [line for line in shown.splitlines() if line.startswith(("┃", "│", "|"))]
    assert table and all(len(line) <= 100 for line in table), shown
    for run in trial_runs():
        assert run.info.run_id in shown  # whole, never "60ff8…"
    assert "test_f1" in shown and "val_f1" in shown and "…" not in shown.split("Runs table")[0], shown
    assert "not shown, for the terminal's width: " in shown, shown
    assert parent.info.run_id[:8] in shown
