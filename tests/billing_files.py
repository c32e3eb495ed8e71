"""Billing exports written the way AWS writes them, small enough to check by hand."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# (start, service, amount, tags, currency, invoice id) — amounts as AWS prints them.
LINES = [
    ("2026-10-01T00:00:00Z", "AmazonSageMaker", "12.3456789012", {"project": "churn"}, "USD", "INV-1"),
    ("2026-10-01T05:00:00Z", "AmazonS3", "0.0000001", {"project": "churn", "team": "growth"}, "USD", "INV-1"),
    ("2026-10-02T00:00:00Z", "AmazonSageMaker", "7.10", {"project": "churn", "team": "growth"}, "USD", "INV-1"),
    ("2026-10-15T00:00:00Z", "AmazonSageMaker", "-2.50", {"project": "churn"}, "USD", "INV-1"),  # a credit
    ("2026-10-20T00:00:00Z", "AmazonEC2", "100.00", {}, "USD", "INV-1"),  # untagged
    ("2026-10-20T00:00:00Z", "AmazonEC2", "55.55", {"project": "fraud"}, "USD", "INV-1"),  # other project
    ("2026-11-03T00:00:00Z", "AmazonSageMaker", "3.33", {"project": "churn"}, "USD", ""),  # open month
    ("2026-09-30T23:00:00Z", "AmazonSageMaker", "9.99", {"project": "churn"}, "USD", "INV-0"),  # before the range
]


def tagged_total(lines: list[tuple], **tags: str) -> str:
    """The independent sum: lines from 2026-10-01 to 2026-11-30 carrying every tag, in Decimal."""
    total = sum(
        (
            Decimal(line[2])
            for line in lines
            if "2026-10-01" <= line[0][:10] <= "2026-11-30" and all(line[3].get(k) == v for k, v in tags.items())
        ),
        Decimal(0),
    )
    return format(total, "f")


# project=churn from 2026-10-01 to 2026-11-30 (by hand: 12.3456789012 + 0.0000001 + 7.10 - 2.50 + 3.33).
CHURN_TOTAL = tagged_total(LINES, project="churn")
CHURN_AND_GROWTH_TOTAL = tagged_total(LINES, project="churn", team="growth")
EUR_LINE = ("2026-10-05T00:00:00Z", "AmazonSageMaker", "4.00", {"project": "churn"}, "EUR", "INV-2")


def _end(start: str) -> str:
    return start[:11] + "23:59:59Z"


def cur2_table(lines: list[tuple]) -> pa.Table:
    return pa.table(
        {
            "bill_invoice_id": [line[5] for line in lines],
            "line_item_usage_start_date": pa.array([line[0] for line in lines]).cast(pa.timestamp("ms", tz="UTC")),
            "line_item_usage_end_date": pa.array([_end(line[0]) for line in lines]).cast(pa.timestamp("ms", tz="UTC")),
            "line_item_product_code": [line[1] for line in lines],
            "line_item_unblended_cost": pa.array([float(line[2]) for line in lines], pa.float64()),
            "line_item_blended_cost": pa.array([float(line[2]) for line in lines], pa.float64()),
            "line_item_currency_code": [line[4] for line in lines],
            "resource_tags": pa.array(
                [[(f"user_{k}", v) for k, v in line[3].items()] for line in lines], pa.map_(pa.string(), pa.string())
            ),
            "line_item_usage_amount": pa.array([1.0] * len(lines)),
        }
    )


def write_cur2_parquet(path: Path, lines: list[tuple] = LINES) -> Path:
    pq.write_table(cur2_table(lines), path)
    return path


def write_cur2_csv(path: Path, lines: list[tuple] = LINES) -> Path:
    header = (
        "bill_invoice_id,line_item_usage_start_date,line_item_usage_end_date,line_item_product_code,"
        "line_item_unblended_cost,line_item_currency_code,resource_tags\n"
    )
    body = "".join(
        f"{line[5]},{line[0]},{_end(line[0])},{line[1]},{line[2]},{line[4]},"
        f'"{json.dumps({f"user_{k}": v for k, v in line[3].items()}).replace(chr(34), chr(34) * 2)}"\n'
        for line in lines
    )
    path.write_text(header + body)
    return path


def _legacy_csv(lines: list[tuple]) -> str:
    header = (
        "bill/InvoiceId,lineItem/UsageStartDate,lineItem/UsageEndDate,lineItem/ProductCode,"
        "lineItem/UnblendedCost,lineItem/CurrencyCode,resourceTags/user:project,resourceTags/user:team\n"
    )
    body = "".join(
        f"{line[5]},{line[0]},{_end(line[0])},{line[1]},{line[2]},{line[4]},"
        f"{line[3].get('project', '')},{line[3].get('team', '')}\n"
        for line in lines
    )
    return header + body


def write_legacy_partitions(folder: Path, lines: list[tuple] = LINES) -> Path:
    """A folder of gzip CSV partitions, as the legacy CUR delivers them."""
    half = len(lines) // 2
    for index, part in enumerate((lines[:half], lines[half:]), start=1):
        target = folder / f"year=2026/month={index}" / f"cur-{index:05d}.csv.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wt") as handle:
            handle.write(_legacy_csv(part))
    return folder


def write_focus_csv(path: Path, lines: list[tuple] = LINES) -> Path:
    header = "InvoiceId,ChargePeriodStart,ChargePeriodEnd,ServiceName,BilledCost,EffectiveCost,BillingCurrency,Tags\n"
    body = "".join(
        f"{line[5]},{line[0]},{_end(line[0])},{line[1]},{line[2]},{line[2]},{line[4]},"
        f'"{json.dumps({f"user:{k}": v for k, v in line[3].items()}).replace(chr(34), chr(34) * 2)}"\n'
        for line in lines
    )
    path.write_text(header + body)
    return path
