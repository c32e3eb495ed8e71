"""The worked example as a user runs it: a real file swept, the report's figures checked by hand.

`examples/marketing.yaml` sweeps the UCI Bank Marketing file (gzip, ';'-separated, a text
target, text features, a leaking column dropped) and reports against the sample CUR 2.0
export: one-off costs, a credit and tax, a running cost measured from the bill.
"""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pypdf import PdfReader

from reports.gather import SpendWindow, _whole_months
from tests.helpers import as_printed, client, parent_runs

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CUR = EXAMPLES / "cur2-term-deposit-2026-11.csv"


def _tagged(**wanted: str) -> dict[str, Decimal]:
    """The sample export's spend by line type for the tags, read with the csv module."""
    out: dict[str, Decimal] = {}
    with CUR.open(newline="") as handle:
        for line in csv.DictReader(handle):
            tags = json.loads(line["resource_tags"] or "{}")
            if all(tags.get(f"user_{k}") == v for k, v in wanted.items()):
                kind = line["line_item_line_item_type"]
                out[kind] = out.get(kind, Decimal(0)) + Decimal(line["line_item_unblended_cost"])
    return out


@pytest.fixture
def example(workdir: Path) -> Path:
    shutil.copytree(EXAMPLES, workdir / "examples")
    data = yaml.safe_load((EXAMPLES / "marketing.yaml").read_text())
    data["limits"]["max_trials"] = 3
    data["roi"]["bootstrap_replicates"] = 200
    config = workdir / "examples" / "marketing.yaml"  # its paths are relative to examples/
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


@pytest.mark.slow
def test_the_marketing_example_end_to_end(workdir: Path, invoke, example: Path) -> None:
    assert invoke("sweep", "--config", example, "--quiet").exit_code == 0
    result = invoke("report", "--config", example)
    assert result.exit_code == 0, result.output
    figures = json.loads((workdir / "roi.json").read_text())
    vm, spend, headline = figures["value_model"], figures["spend"], figures["headline"]

    # The development cost: the tagged cloud lines (usage, a credit, tax) plus the one-off costs.
    cloud = _tagged(project="term-deposit", team="marketing-analytics")
    assert set(cloud) == {"Usage", "Credit", "Tax"}
    want = sum(cloud.values(), Decimal(0)) + Decimal(9000) + Decimal(4000)
    assert Decimal(headline["development_cost"]) == want.quantize(Decimal("0.01"))
    lines = {row["line"]: Decimal(row["amount"]) for row in spend["development_cost_lines"]}
    assert lines["cloud: credit"] == Decimal("-150.00") and lines["cloud: tax"] == Decimal("38.40")
    assert lines["one-off: data scientist (3 weeks) (spent)"] == Decimal(9000)
    assert sum(lines.values(), Decimal(0)) == Decimal(headline["development_cost"])
    assert spend["basis"] == "billed" and spend["window"]["start"] == "2026-11-01"

    # The running cost, measured: the serving tag's whole month of November.
    serving = sum(_tagged(project="term-deposit-serving").values(), Decimal(0))
    assert Decimal(vm["running_cost_per_month"]) == serving.quantize(Decimal("0.01"))
    assert vm["running_cost_source"].startswith("measured")

    # The action template and the production rate, as configured.
    assert vm["value_per_outcome"] == {
        "true_positive": "84.00",
        "false_positive": "-6.00",
        "false_negative": "0.00",
        "true_negative": "0.00",
    }
    assert vm["production_positive_rate"] == "0.08" and vm["value_of_a_catch"] == "84.00"
    assert (
        figures["uncertainty"]["replicates"] == 200 and "production_positive_rate" in figures["uncertainty"]["varied"]
    )

    # The published threshold reproduces the test decisions exactly.
    [parent] = parent_runs("term-deposit-calls")
    best = parent.data.tags["tracker.best_run_id"]
    test = pd.read_parquet(client().download_artifacts(best, "predictions/test.parquet", str(workdir)))
    flagged = test["y_score"] >= float(figures["decision"]["threshold"])
    cells = figures["confusion_matrix"]["cells"]
    assert int((flagged & (test["y_true"] == 1)).sum()) == cells["tp"]["count"]
    assert int((flagged & (test["y_true"] == 0)).sum()) == cells["fp"]["count"]

    # The sample bill was chosen on purpose (cost.window_reason): page 1 says so, and warns of nothing.
    assert headline["warnings"] == []
    assert any("chosen on purpose" in note for note in headline["notes"])
    # Spent (the cloud and the data scientist) and still to come (the CRM integration).
    assert Decimal(headline["cost_spent"]) == (sum(cloud.values(), Decimal(0)) + 9000).quantize(Decimal("0.01"))
    assert Decimal(headline["cost_to_come"]) == Decimal(4000)
    assert figures["baseline"]["kind"] == "act_on_all" and figures["baseline"]["value_per_prediction"] == "1.20"

    # The PDF states the JSON's figures; the metrics on the parent run include the NPV.
    text = "\n".join(page.extract_text() for page in PdfReader(workdir / "report.pdf").pages)
    for key in ("npv", "npv_p10", "npv_p90", "npv_p50", "npv_mean", "npv_all_costs", "roi_percent", "development_cost"):
        assert as_printed(key, headline) in text, key
    assert "2026-11-01 to 2026-11-30" in text and "billed" in text
    assert "one-off: CRM integration" in text
    metrics = client().get_run(parent.info.run_id).data.metrics
    assert Decimal(repr(metrics["npv"])) == Decimal(headline["npv"])


@pytest.mark.slow
def test_the_champion_takes_the_raw_columns(workdir: Path, invoke, example: Path) -> None:
    import subprocess

    import mlflow

    # In a git repository, the runs name the config file and the commit they came from.
    git = ["git", "-C", str(workdir), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "start"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    result = invoke("sweep", "--config", example, "--trials", "1", "--quiet")
    assert result.exit_code == 0, result.output
    # MLflow's evaluator takes the text columns too (pandas' string dtype once broke it).
    assert "evaluation of the champion failed" not in result.output
    [parent] = parent_runs("term-deposit-calls")
    champion = client().get_run(parent.data.tags["tracker.best_run_id"])
    assert {"test_eval_example_count", "test_eval_roc_auc", "test_eval_log_loss"} <= set(champion.data.metrics)
    for run in (parent, champion):
        assert run.data.tags["mlflow.source.name"] == str(example.resolve())
        assert run.data.tags["mlflow.source.git.commit"] == commit
        data = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs if i.tags}
        assert data["training"].name == "bank.csv.gz"
        assert str((workdir / "examples" / "data" / "bank.csv.gz").resolve()) in data["training"].source
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model("models:/term-deposit-calls@champion")
    with gzip.open(EXAMPLES / "data" / "bank.csv.gz", "rt") as handle:
        raw = pd.read_csv(handle, sep=";").head(20).drop(columns=["y", "duration"])
    raw.loc[0, "job"] = "astronaut"  # a category the model never saw is encoded as zeros
    predictions = model.predict(raw)
    assert len(predictions) == 20 and set(map(int, predictions)) <= {0, 1}


@pytest.mark.parametrize(
    ("change", "text"),
    [
        ({"drop_columns": ["nope"]}, "objective.drop_columns: no column 'nope'"),
        ({"drop_columns": ["y"]}, "'y' is the target"),
        ({"positive_label": "maybe"}, "objective.positive_label: 'maybe' is not a value of the target"),
        ({"read": {"sep": ","}}, "objective.target: no column 'y'"),  # the wrong separator: one column
    ],
)
def test_dataset_options_fail_in_one_line(workdir: Path, invoke, example: Path, change: dict, text: str) -> None:
    data = yaml.safe_load(example.read_text())
    data["objective"].update(change)
    example.write_text(yaml.safe_dump(data))
    result = invoke("sweep", "--config", example, "--trials", "1")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.output


def test_whole_months_and_windows() -> None:
    assert _whole_months(date(2026, 10, 15), date(2027, 1, 31)) == ["2026-11", "2026-12", "2027-01"]
    assert _whole_months(date(2026, 11, 2), date(2026, 11, 30)) == []
    assert _whole_months(date(2024, 2, 1), date(2024, 2, 29)) == ["2024-02"]
    runs = (date(2026, 11, 27), date(2026, 11, 28))
    assert SpendWindow(date(2026, 11, 1), date(2026, 11, 30), "configured", *runs).overlaps_runs
    assert not SpendWindow(date(2026, 10, 1), date(2026, 10, 31), "configured", *runs).overlaps_runs
    assert SpendWindow(None, date(2026, 11, 27), "configured", *runs).overlaps_runs
