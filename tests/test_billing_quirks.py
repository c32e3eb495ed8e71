"""Billing exports as they really come: zoned timestamps, NULL tags, no tag columns, many decimals.

Each expected total is summed here, in plain Python from the lines written, never copied
from the tool. The time-zone cases run the real CLI under two machine time zones.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cost.billing import BillingFileSource
from cost.table import SpendFilter
from tests.conftest import tracker_command
from tracker.errors import UsageError

# (start, amount, Tags as FOCUS writes them) around a month boundary, in UTC.
FOCUS_LINES = [
    ("2026-10-31T23:30:00Z", "1.1234567890123", '{"project": "churn"}'),
    ("2026-11-01T00:30:00Z", "2.0000000000001", '{"user:project": "churn"}'),
    ("2026-10-15T12:00:00Z", "5.55", "NULL"),
    ("2026-10-16T12:00:00Z", "6.66", ""),
    ("2026-10-17T12:00:00Z", "7.77", "{}"),
    ("2026-10-18T12:00:00Z", "0.0000000000000000001", '{"project": "churn"}'),
]
FOCUS_HEADER = [
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ServiceName",
    "Tags",
    "InvoiceId",
]


def _write_focus_csv(path: Path, lines: list[tuple[str, str, str]], start_format=lambda s: s) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(FOCUS_HEADER)
        for start, amount, tags in lines:
            writer.writerow(
                ["USD", amount, amount, start_format(start), start_format(start), "Amazon SageMaker", tags, "INV-1"]
            )
    return path


def _churn_by_month(lines: list[tuple[str, str, str]]) -> dict[str, Decimal]:
    """The independent sum: UTC month of the start, lines whose Tags name project=churn."""
    months: dict[str, Decimal] = {}
    for start, amount, tags in lines:
        try:
            parsed = json.loads(tags)
        except json.JSONDecodeError:
            continue
        if not isinstance(parsed, dict) or "churn" not in (parsed.get("project"), parsed.get("user:project")):
            continue
        months[start[:7]] = months.get(start[:7], Decimal(0)) + Decimal(amount)
    return months


def _cli_cost(path: Path, tz: str, *extra: str) -> dict:
    result = subprocess.run(
        tracker_command("cost", "--source", "billing-file", "--file", str(path), "--format", "json", *extra),
        capture_output=True,
        text=True,
        env={**os.environ, "TZ": tz},
        cwd=path.parent,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _months(payload: dict) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for row in payload["rows"]:
        out[row["period_start"][:7]] = out.get(row["period_start"][:7], Decimal(0)) + Decimal(row["amount"])
    return out


def _zoned_parquet(path: Path, lines: list[tuple[str, str, str]], *, zoned: bool) -> Path:
    starts = pa.array([s.replace("Z", "") for s, _, _ in lines]).cast(pa.timestamp("us"))
    if zoned:
        starts = pa.array([s for s, _, _ in lines]).cast(pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {
            "BillingCurrency": ["USD"] * len(lines),
            "BilledCost": pa.array([Decimal(a) for _, a, _ in lines], pa.decimal128(38, 19)),
            "ChargePeriodStart": starts,
            "ChargePeriodEnd": starts,
            "ServiceName": ["Amazon SageMaker"] * len(lines),
            "Tags": [t for _, _, t in lines],
            "InvoiceId": ["INV-1"] * len(lines),
        }
    )
    pq.write_table(table, path)
    return path


FORMATS = {
    "csv-z": lambda folder: _write_focus_csv(folder / "f.csv", FOCUS_LINES),
    "csv-offset": lambda folder: _write_focus_csv(folder / "f.csv", FOCUS_LINES, lambda s: s.replace("Z", "+00:00")),
    "csv-no-seconds": lambda folder: _write_focus_csv(folder / "f.csv", FOCUS_LINES, lambda s: s[:16] + "Z"),
    "csv-naive": lambda folder: _write_focus_csv(folder / "f.csv", FOCUS_LINES, lambda s: s[:19].replace("T", " ")),
    "parquet-zoned": lambda folder: _zoned_parquet(folder / "f.parquet", FOCUS_LINES, zoned=True),
    "parquet-naive": lambda folder: _zoned_parquet(folder / "f.parquet", FOCUS_LINES, zoned=False),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(FORMATS))
def test_the_same_export_gives_the_same_months_in_any_machine_time_zone(tmp_path: Path, kind: str) -> None:
    path = FORMATS[kind](tmp_path)
    expected = _churn_by_month(FOCUS_LINES)
    assert set(expected) == {"2026-10", "2026-11"}  # the boundary lines fall on both sides
    for tz in ("America/Los_Angeles", "Asia/Kolkata"):
        payload = _cli_cost(path, tz, "--tag", "project=churn")
        assert _months(payload) == expected, tz
        assert Decimal(payload["total"]) == sum(expected.values(), Decimal(0))


def test_untagged_focus_rows_hold_null_empty_or_braces_and_are_simply_untagged(tmp_path: Path) -> None:
    path = _write_focus_csv(tmp_path / "f.csv", FOCUS_LINES)
    table = BillingFileSource(path).fetch(SpendFilter(tags=(("project", "churn"),), start=None, end=None))
    assert table.total == sum(_churn_by_month(FOCUS_LINES).values(), Decimal(0))
    # Every digit kept: 19 decimals in, 19 decimals in the sum.
    assert (table.total * 10**19) % 10 == 1


def test_a_tag_key_with_a_quote_is_a_bound_value_not_sql(tmp_path: Path) -> None:
    lines = [("2026-10-01T00:00:00Z", "3.00", json.dumps({"it's": "x"})), ("2026-10-02T00:00:00Z", "4.00", "{}")]
    path = _write_focus_csv(tmp_path / "f.csv", lines)
    table = BillingFileSource(path).fetch(SpendFilter(tags=(("it's", "x"),), start=None, end=None))
    assert table.total == Decimal("3.00")


def test_a_legacy_cur_without_tag_columns_is_an_error_not_a_zero(tmp_path: Path) -> None:
    # Before issue 22 this gave 0 and a note; a silent zero is the worst answer an ROI tool can give.
    path = tmp_path / "legacy.csv"
    path.write_text(
        "bill/InvoiceId,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
        "lineItem/UnblendedCost,lineItem/CurrencyCode\n"
        "INV-1,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,AmazonSageMaker,12.50,USD\n"
    )
    with pytest.raises(UsageError, match=r"no resourceTags/user:project column.*Activate the tag"):
        BillingFileSource(path).fetch(SpendFilter(tags=(("project", "churn"),), start=None, end=None))
    untagged = BillingFileSource(path).fetch(SpendFilter(tags=(), start=None, end=None))
    assert untagged.total == Decimal("12.50")


def test_a_cur2_export_without_resource_tags_is_an_error_not_a_zero(tmp_path: Path) -> None:
    path = tmp_path / "cur2.csv"
    path.write_text(
        "bill_invoice_id,line_item_usage_start_date,line_item_usage_end_date,line_item_product_code,"
        "line_item_unblended_cost,line_item_currency_code\n"
        "INV-1,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,AmazonSageMaker,1.25,USD\n"
    )
    with pytest.raises(UsageError, match="no resource_tags column"):
        BillingFileSource(path).fetch(SpendFilter(tags=(("project", "churn"),), start=None, end=None))


def test_an_unreadable_amount_is_one_line_naming_the_file(tmp_path: Path, invoke) -> None:
    path = _write_focus_csv(tmp_path / "f.csv", [("2026-10-01T00:00:00Z", "twelve dollars", "{}")])
    result = invoke("cost", "--source", "billing-file", "--file", path)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --file: ") and str(path) in lines[0]
    assert "unmodified export" in lines[0] and len(lines[0]) <= 400


# One line of each CUR line-item type: (type, unblended, SP effective, SP commitment to date,
# SP used commitment, RI effective, RI unused upfront, RI unused recurring, RI ARN), and what
# AWS's amortized cost makes of it, worked by hand.
AMORTIZED_LINES = [
    ("Usage", "10.00", "", "", "", "", "", "", "", "10.00"),
    ("SavingsPlanCoveredUsage", "5.00", "3.20", "", "", "", "", "", "", "3.20"),
    ("SavingsPlanNegation", "-5.00", "", "", "", "", "", "", "", "0"),
    ("SavingsPlanRecurringFee", "100.00", "", "100.00", "80.00", "", "", "", "", "20.00"),  # the unused part
    ("SavingsPlanUpfrontFee", "1000.00", "", "", "", "", "", "", "", "0"),
    ("DiscountedUsage", "0.00", "", "", "", "2.75", "", "", "arn:aws:ec2:ri/1", "2.75"),
    ("RIFee", "50.00", "", "", "", "", "1.10", "0.40", "arn:aws:ec2:ri/1", "1.50"),
    ("Fee", "300.00", "", "", "", "", "", "", "arn:aws:ec2:ri/1", "0"),  # the RI's upfront purchase
    ("Fee", "7.00", "", "", "", "", "", "", "", "7.00"),
    ("Credit", "-1.00", "", "", "", "", "", "", "", "-1.00"),
    ("Tax", "0.80", "", "", "", "", "", "", "", "0.80"),
    ("Refund", "-0.30", "", "", "", "", "", "", "", "-0.30"),
]
AMORTIZED_COLUMNS = {
    "CUR 2.0": [
        "line_item_line_item_type",
        "line_item_unblended_cost",
        "savings_plan_savings_plan_effective_cost",
        "savings_plan_total_commitment_to_date",
        "savings_plan_used_commitment",
        "reservation_effective_cost",
        "reservation_unused_amortized_upfront_fee_for_billing_period",
        "reservation_unused_recurring_fee",
        "reservation_reservation_a_r_n",
        "line_item_usage_start_date",
        "line_item_product_code",
        "line_item_currency_code",
        "bill_invoice_id",
    ],
    "legacy CUR": [
        "lineItem/LineItemType",
        "lineItem/UnblendedCost",
        "savingsPlan/SavingsPlanEffectiveCost",
        "savingsPlan/TotalCommitmentToDate",
        "savingsPlan/UsedCommitment",
        "reservation/EffectiveCost",
        "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "reservation/UnusedRecurringFee",
        "reservation/ReservationARN",
        "lineItem/UsageStartDate",
        "lineItem/ProductCode",
        "lineItem/CurrencyCode",
        "bill/InvoiceId",
    ],
}


@pytest.mark.parametrize("fmt", sorted(AMORTIZED_COLUMNS))
def test_amortized_cost_follows_aws_for_each_line_item_type(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "cur.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(AMORTIZED_COLUMNS[fmt])
        for line in AMORTIZED_LINES:
            writer.writerow([*line[:9], "2026-10-05T00:00:00Z", "AmazonEC2", "USD", "INV-1"])
    spend = SpendFilter(tags=(), start=None, end=None, metric="AmortizedCost")
    table = BillingFileSource(path).fetch(spend)
    assert dict(table.details)["format"] == fmt
    assert table.total == sum((Decimal(line[9]) for line in AMORTIZED_LINES), Decimal(0)) == Decimal("43.95")
    # Commitment-covered compute is not free, and the parts add up to the total.
    assert table.by_charge_type() == {
        "usage": Decimal("15.95"),
        "fee": Decimal("28.50"),
        "credit": Decimal("-1.00"),
        "refund": Decimal("-0.30"),
        "tax": Decimal("0.80"),
    }
    unblended = BillingFileSource(path).fetch(SpendFilter(tags=(), start=None, end=None))
    assert unblended.total == sum((Decimal(line[1]) for line in AMORTIZED_LINES), Decimal(0))
