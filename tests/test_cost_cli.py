"""`tracker cost` as a user types it: each source, each output, each error, and Cost Explorer over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests import billing_files as bf
from tests.conftest import free_port
from tests.helpers import parent_runs, trial_runs
from tests.scale_fixtures import moto_server

CHURN = ["--tag", "project=churn", "--start", "2026-10-01", "--end", "2026-11-30"]


def _one_line_error(result, code: int, text: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.output


def test_billing_file_json_table_and_csv(workdir: Path, invoke) -> None:
    bf.write_cur2_parquet(workdir / "cur.parquet")
    result = invoke("cost", "--source", "billing-file", "--file", "cur.parquet", *CHURN, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["source"] == "billing-file" and payload["currency"] == "USD"
    assert payload["total"] == bf.CHURN_TOTAL and payload["estimated"] is True
    assert payload["filter"]["tags"] == {"project": "churn"}
    assert payload["details"]["format"] == "CUR 2.0"
    assert {row["service"] for row in payload["rows"]} == {"AmazonSageMaker", "AmazonS3"}

    table = invoke("cost", "--source", "billing-file", "--file", "cur.parquet", *CHURN)
    assert f"Total: {bf.CHURN_TOTAL} USD (estimated, " in table.output
    assert "format: CUR 2.0" in table.output
    # The terminal speaks in inclusive dates throughout: the filter and each period alike.
    assert "2026-10-01 to 2026-11-30 (inclusive)" in table.output
    assert "2026-11-01 to 2026-11-30" in table.output and "to 2026-12-01" not in table.output
    assert {row["period_end"] for row in payload["rows"]} <= {"2026-11-01", "2026-12-01"}  # JSON: AWS's exclusive end

    csv_out = invoke("cost", "--source", "billing-file", "--file", "cur.parquet", *CHURN, "--format", "csv")
    lines = csv_out.output.strip().splitlines()
    assert lines[0] == "period_start,period_end,service,amount,currency,estimated,charge_type"
    assert sum(Decimal(line.split(",")[3]) for line in lines[1:]) == Decimal(bf.CHURN_TOTAL)


def test_settings_from_the_config_cost_section(workdir: Path, invoke) -> None:
    bf.write_focus_csv(workdir / "focus.csv")
    (workdir / "cost.yaml").write_text(
        "tags: {project: churn}\ncost: {source: billing-file, file: focus.csv, start: 2026-10-01, end: 2026-11-30}\n"
    )
    result = invoke("cost", "--config", "cost.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["total"] == bf.CHURN_TOTAL


def test_mixed_currencies(workdir: Path, invoke) -> None:
    bf.write_focus_csv(workdir / "focus.csv", [*bf.LINES, bf.EUR_LINE])
    args = ["cost", "--source", "billing-file", "--file", "focus.csv", *CHURN]
    _one_line_error(invoke(*args), 2, "error: the spend is in 2 currencies (EUR, USD); choose one with --currency")
    euro = invoke(*args, "--currency", "EUR", "--format", "json")
    assert json.loads(euro.output)["total"] == "4"


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--tag", "project"], 2, "Invalid value for --tag: 'project' is not KEY=VALUE (for example project=churn)"),
        (
            ["--tag", "project=churn", "--metric", "Cheapest"],
            2,
            "Invalid value for '--metric': 'Cheapest' is not one of",
        ),
        (
            [
                "--tag",
                "p=c",
                "--source",
                "billing-file",
                "--file",
                "cur.parquet",
                "--start",
                "2026-10-31",
                "--end",
                "2026-10-01",
            ],
            2,
            "error: --end 2026-10-01 is before --start 2026-10-31",
        ),
        (
            ["--tag", "p=c", "--source", "billing-file", "--file", "sales.csv"],
            2,
            "error: the file is not a billing export",
        ),
        (["--tag", "p=c", "--source", "billing-file"], 2, "error: --source billing-file needs --file PATH"),
        (
            ["--tag", "p=c", "--source", "explorer", "--start", "2020-01-01", "--end", "2020-01-31"],
            2,
            "beyond Cost Explorer's 13 months of history",
        ),
        (["--source", "estimate", "--experiment", "nothing"], 2, "error: no experiment 'nothing'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(workdir: Path, invoke, args: list[str], code: int, text: str) -> None:
    bf.write_cur2_parquet(workdir / "cur.parquet")
    (workdir / "sales.csv").write_text("region,revenue\nnorth,10\n")
    result = invoke("cost", *args)
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output


def test_no_credentials_names_the_variables(workdir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_ENDPOINT_URL_COST_EXPLORER=f"http://127.0.0.1:{free_port()}",
    )
    last_month = date.today().replace(day=1) - timedelta(days=1)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker",
            "cost",
            "--source",
            "explorer",
            "--tag",
            "project=churn",
            "--start",
            last_month.replace(day=1).isoformat(),
            "--end",
            last_month.isoformat(),
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
        "or use --source billing-file or --source estimate"
    )


def test_estimate_matches_what_the_sweep_logged(workdir: Path, invoke) -> None:
    (workdir / "tags.yaml").write_text("tags: {project: churn}\n")
    assert invoke("sweep", "--config", "tags.yaml", "--trials", "3", "--quiet").exit_code == 0
    result = invoke("cost", "--source", "estimate", "--config", "tags.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["source"] == "estimate" and payload["estimated"] is True
    logged = sum(Decimal(str(r.data.metrics["cost_usd_estimated"])) for r in trial_runs("tags"))
    assert Decimal(payload["total"]) == logged
    [parent] = parent_runs("tags")
    assert Decimal(str(parent.data.metrics["cost_usd_estimated"])) == logged
    other = invoke(
        "cost", "--config", "tags.yaml", "--source", "estimate", "--tag", "project=fraud", "--format", "json"
    )
    assert json.loads(other.output)["total"] == "0"


def test_attribute_billed_spend_to_trial_runs(workdir: Path, invoke) -> None:
    assert invoke("sweep", "--trials", "4", "--quiet").exit_code == 0
    bf.write_cur2_parquet(workdir / "cur.parquet")
    result = invoke(
        "cost",
        "--source",
        "billing-file",
        "--file",
        "cur.parquet",
        *CHURN,
        "--attribute-to",
        "tracker-demo",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    attribution = json.loads(result.output)["attribution"]
    assert Decimal(attribution["total"]) == Decimal("20.28")  # the total, to the cent
    parts = {r.info.run_id: Decimal(str(r.data.metrics["cost_usd_billed"])) for r in trial_runs()}
    assert len(parts) == 4 and sum(parts.values()) == Decimal("20.28")
    durations = {r.info.run_id: r.data.metrics["duration_seconds"] for r in trial_runs()}
    longest = max(durations, key=durations.get)
    assert parts[longest] == max(parts.values())


def test_budget_stops_the_sweep(workdir: Path, invoke) -> None:
    (workdir / "budget.yaml").write_text("limits: {budget_usd: 1}\ncompute: {hourly_usd: 36000}\n")
    result = invoke("sweep", "--config", "budget.yaml", "--trials", "50", "--quiet")
    assert result.exit_code == 0, result.output
    assert "would pass the budget of $1 with one more trial" in result.output
    spent = sum(r.data.metrics["cost_usd_estimated"] for r in trial_runs("budget"))
    assert len(trial_runs("budget")) < 50
    average = spent / len(trial_runs("budget"))
    assert spent + average > 1  # it stopped because one more would pass the budget
    assert spent - average <= 1  # and not before


def test_minimize_cost_is_multi_objective_and_runs_marks_the_pareto_front(workdir: Path, invoke) -> None:
    (workdir / "pareto.yaml").write_text("objective: {minimize_cost: true}\nstrategy: random\n")
    result = invoke("sweep", "--config", "pareto.yaml", "--trials", "6", "--quiet")
    assert result.exit_code == 0, result.output
    assert "Pareto-optimal trials (metric vs cost):" in result.output
    rows = json.loads(invoke("runs", "--config", "pareto.yaml", "--format", "json").output)
    front = {row["trial"] for row in rows if row["pareto"] == "yes"}
    assert front
    points = {row["trial"]: (row["val_f1"], row["cost_usd_estimated"]) for row in rows}
    for trial in front:  # no other trial is at least as good on both and better on one
        f1, cost = points[trial]
        assert not any(
            o_f1 >= f1 and o_cost <= cost and (o_f1, o_cost) != (f1, cost)
            for n, (o_f1, o_cost) in points.items()
            if n != trial
        )


@pytest.mark.slow
def test_cost_explorer_over_http_against_moto(workdir: Path) -> None:
    with moto_server() as endpoint:
        last = date.today().replace(day=1) - timedelta(days=1)
        first = last.replace(day=1)
        result = {
            "ResultsByTime": [
                {
                    "TimePeriod": {"Start": first.isoformat(), "End": (last + timedelta(days=1)).isoformat()},
                    "Total": {},
                    "Groups": [
                        {
                            "Keys": ["Amazon SageMaker", "Usage"],
                            "Metrics": {"UnblendedCost": {"Amount": "41.2500001", "Unit": "USD"}},
                        },
                        {
                            "Keys": ["Amazon Simple Storage Service", "Credit"],
                            "Metrics": {"UnblendedCost": {"Amount": "-1.25", "Unit": "USD"}},
                        },
                    ],
                    "Estimated": False,
                }
            ],
        }
        request = urllib.request.Request(
            f"{endpoint}/moto-api/static/ce/cost-and-usage-results",
            data=json.dumps({"results": [result]}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(request, timeout=5)
        env = {**os.environ, "AWS_ENDPOINT_URL_COST_EXPLORER": endpoint}
        command = [
            sys.executable,
            "-m",
            "tracker",
            "cost",
            "--source",
            "explorer",
            "--tag",
            "project=churn",
            "--start",
            first.isoformat(),
            "--end",
            last.isoformat(),
            "--skip-tag-check",
            "--format",
            "json",
        ]
        out = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        payload = json.loads(out.stdout)
        assert payload["source"] == "explorer" and payload["total"] == "40.0000001"
        assert payload["details"]["cached"] == "no" and payload["details"]["requests"] == "1"
        again = json.loads(
            subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120).stdout
        )
        assert again["total"] == "40.0000001" and again["details"]["cached"] == "yes"  # a closed month: cached


def test_credits_are_their_own_lines_that_add_up_to_the_total(workdir: Path, invoke) -> None:
    import csv as csv_module

    example = Path(__file__).parent.parent / "examples"
    export = example / "cur2-screening-2026-10.csv"
    result = invoke("cost", "--config", example / "classification.yaml", "--file", export, "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    # The independent sum: the example export read with the csv module, tagged
    # project=screening and team=clinical-ml.
    want: dict[str, Decimal] = {}
    with (example / "cur2-screening-2026-10.csv").open(newline="") as handle:
        for line in csv_module.DictReader(handle):
            tags = json.loads(line["resource_tags"] or "{}")
            if tags.get("user_project") == "screening" and tags.get("user_team") == "clinical-ml":
                kind = "credit" if line["line_item_line_item_type"] == "Credit" else "usage"
                want[kind] = want.get(kind, Decimal(0)) + Decimal(line["line_item_unblended_cost"])
    assert {k: Decimal(v) for k, v in payload["by_charge_type"].items()} == want
    assert set(want) == {"usage", "credit"}
    assert sum(want.values(), Decimal(0)) == Decimal(payload["total"])
    assert {row["charge_type"] for row in payload["rows"]} == {"usage", "credit"}
