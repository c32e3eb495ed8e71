"""One contract, every cost source: the same frozen shape, exact money, a stated origin."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from cost.billing import BillingFileSource
from cost.estimate import EstimateSource
from cost.explorer import CostExplorerSource
from cost.table import SpendFilter, SpendTable
from tests import billing_files as bf
from tracker.record import Record

OCTOBER = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 10, 31))


def _explorer(_workdir: Path, _invoke) -> SpendTable:
    client = boto3.client("ce", region_name="us-east-1")
    stub = Stubber(client)
    result = {
        "TimePeriod": {"Start": "2026-10-01", "End": "2026-11-01"},
        "Total": {},
        "Groups": [
            {"Keys": ["Amazon SageMaker", "Usage"], "Metrics": {"UnblendedCost": {"Amount": "12.34", "Unit": "USD"}}},
            {"Keys": ["Amazon S3", "Credit"], "Metrics": {"UnblendedCost": {"Amount": "-0.5", "Unit": "USD"}}},
        ],
        "Estimated": False,
    }
    stub.add_response("get_cost_and_usage", {"ResultsByTime": [result], "DimensionValueAttributes": []})
    with stub:
        return CostExplorerSource(client, today=date(2026, 11, 26), check_tags=False).fetch(OCTOBER)


def _billing(workdir: Path, _invoke) -> SpendTable:
    return BillingFileSource(bf.write_cur2_parquet(workdir / "cur.parquet")).fetch(OCTOBER)


def _estimate(workdir: Path, invoke) -> SpendTable:
    (workdir / "tags.yaml").write_text("tags: {project: churn}\n")
    assert invoke("sweep", "--config", "tags.yaml", "--trials", "2", "--quiet").exit_code == 0
    store = Record.open(f"sqlite:///{workdir / 'mlflow.db'}").reads
    today = date.today()
    spend = dataclasses.replace(OCTOBER, start=today, end=today, experiment="tags")  # the config file's name
    return EstimateSource(store, hourly_usd=Decimal("0.23")).fetch(spend)


@pytest.fixture(params=[_explorer, _billing, _estimate], ids=["explorer", "billing-file", "estimate"])
def table(request: pytest.FixtureRequest, workdir: Path, invoke) -> SpendTable:
    return request.param(workdir, invoke)


def test_rows_are_frozen_exact_and_well_formed(table: SpendTable) -> None:
    assert table.rows, "the scenario has spend"
    for row in table.rows:
        assert isinstance(row.amount, Decimal)
        assert row.period_end > row.period_start
        assert len(row.currency) == 3 and row.currency.isupper()
        assert row.service
        with pytest.raises(dataclasses.FrozenInstanceError):
            row.amount = Decimal(0)  # type: ignore[misc]
    keys = [(r.period_start, r.period_end, r.service, r.charge_type, r.currency, r.estimated) for r in table.rows]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)


def test_total_is_the_exact_sum_and_survives_json(table: SpendTable) -> None:
    assert table.total == sum((r.amount for r in table.rows), Decimal(0))
    payload = json.loads(json.dumps(table.to_json()))
    assert Decimal(payload["total"]) == table.total
    assert sum(Decimal(r["amount"]) for r in payload["rows"]) == Decimal(payload["total"])
    assert set(payload) >= {"source", "filter", "currency", "total", "estimated", "rows"}
    assert payload["currency"] == table.currency and payload["estimated"] == table.estimated


def test_says_where_it_came_from(table: SpendTable) -> None:
    assert table.source in {"explorer", "billing-file", "estimate"}
    assert dict(table.filter.tags) == {"project": "churn"}
    if table.source == "estimate":
        assert all(r.estimated for r in table.rows)
