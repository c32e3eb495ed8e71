"""Billing exports in every shape the readers must survive, and their totals summed independently.

Each variant is written from plain lines, and its expected figures are summed here with
``Decimal`` over those same lines (tag match, UTC month, currency, charge type), never
read back from the tool.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# (UTC start, service, amount, tags or None for untagged, currency, FOCUS ChargeCategory)
Line = tuple[str, str, str, dict[str, str] | None, str, str]

FOCUS_LINES: list[Line] = [
    ("2026-10-01T00:00:00Z", "Amazon SageMaker", "12.3456789012345678", {"project": "churn"}, "USD", "Usage"),
    ("2026-10-31T23:30:00Z", "Amazon SageMaker", "1.0000000000001", {"project": "churn"}, "USD", "Usage"),
    ("2026-11-01T00:30:00Z", "Amazon S3", "0.0000000000000000001", {"project": "churn"}, "USD", "Usage"),
    ("2026-10-15T00:00:00Z", "Amazon SageMaker", "-2.50", {"project": "churn"}, "USD", "Credit"),
    ("2026-10-16T00:00:00Z", "Amazon SageMaker", "0.99", {"project": "churn"}, "USD", "Tax"),
    ("2026-10-20T00:00:00Z", "Amazon EC2", "100.00", None, "USD", "Usage"),
    ("2026-10-21T00:00:00Z", "Amazon EC2", "55.55", {"project": "fraud"}, "USD", "Usage"),
    ("2026-09-30T23:59:00Z", "Amazon SageMaker", "9.99", {"project": "churn"}, "USD", "Usage"),
]
# Parquet CUR amounts are doubles, as AWS writes them: at most ten decimals survive.
CUR_LINES: list[Line] = [
    ("2026-10-01T00:00:00Z", "AmazonSageMaker", "12.3456789012", {"project": "churn"}, "USD", "Usage"),
    ("2026-10-31T23:30:00Z", "AmazonSageMaker", "7.10", {"project": "churn"}, "USD", "Usage"),
    ("2026-11-01T00:30:00Z", "AmazonS3", "0.0000001", {"project": "churn"}, "USD", "Usage"),
    ("2026-11-02T00:00:00Z", "AmazonSageMaker", "-1.25", {"project": "churn"}, "USD", "Credit"),
    ("2026-10-20T00:00:00Z", "AmazonEC2", "100.00", None, "USD", "Usage"),
]
MIXED_LINES: list[Line] = [
    *FOCUS_LINES[:2],
    ("2026-10-05T00:00:00Z", "Amazon SageMaker", "4.00", {"project": "churn"}, "EUR", "Usage"),
]
CUR_TYPES = {"Usage": "Usage", "Credit": "Credit", "Tax": "Tax"}
CHARGE = {"Usage": "usage", "Credit": "credit", "Tax": "tax"}
# The filter every variant is read with: project=churn, October and November 2026.
TAG = ("project", "churn")
START, END = "2026-10-01", "2026-11-30"


@dataclass(frozen=True)
class Expected:
    by_currency: dict[str, Decimal]
    by_month: dict[str, Decimal]
    by_charge: dict[str, Decimal]
    note: str | None = None  # a fragment the table's notes must hold


def legacy_csv(path: Path, lines: list[Line]) -> Path:
    """A legacy CUR in CSV, as AWS writes it: ``lineItem/...`` headers and a column per tag,
    named by the key as given (``resourceTags/user:project``, ``resourceTags/aws:createdBy``)."""
    header = [
        "bill/InvoiceId",
        "lineItem/LineItemType",
        "lineItem/UsageStartDate",
        "lineItem/ProductCode",
        "lineItem/UnblendedCost",
        "lineItem/CurrencyCode",
        "resourceTags/aws:createdBy",
        "resourceTags/user:project",
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for start, service, amount, tags, currency, category in lines:
        tags = tags or {}
        writer.writerow(
            [
                "INV-1",
                CUR_TYPES[category],
                start,
                service,
                amount,
                currency,
                tags.get("createdBy", ""),
                tags.get("project", ""),
            ]
        )
    path.write_text(buffer.getvalue())
    return path


def expected(lines: list[Line], *, tagged: bool = True) -> Expected:
    by_currency: dict[str, Decimal] = {}
    by_month: dict[str, Decimal] = {}
    by_charge: dict[str, Decimal] = {}
    for start, _service, amount, tags, currency, category in lines:
        if not (START <= start[:10] <= END) or not tagged or (tags or {}).get(TAG[0]) != TAG[1]:
            continue
        value = Decimal(amount)
        by_currency[currency] = by_currency.get(currency, Decimal(0)) + value
        by_month[start[:7]] = by_month.get(start[:7], Decimal(0)) + value
        by_charge[CHARGE[category]] = by_charge.get(CHARGE[category], Decimal(0)) + value
    return Expected(by_currency, by_month, by_charge)


def _focus_rows(lines: list[Line], start: Callable[[str], str], untagged: str) -> list[list[str]]:
    rows = []
    for index, (begin, service, amount, tags, currency, category) in enumerate(lines):
        tag_text = json.dumps({f"user:{k}": v for k, v in tags.items()}) if tags else untagged
        rows.append([f"INV-{index}", start(begin), start(begin), service, amount, amount, currency, tag_text, category])
    return rows


FOCUS_HEADER = [
    "InvoiceId", "ChargePeriodStart", "ChargePeriodEnd", "ServiceName", "BilledCost", "EffectiveCost",
    "BillingCurrency", "Tags", "ChargeCategory",
]  # fmt: skip
# Real FOCUS files start with a column the reader needs, so a byte-order mark before it matters.
CSV_ORDER = [4, 1, 2, 3, 0, 5, 6, 7, 8]


def focus_csv(
    path: Path, lines: list[Line], *, start: Callable[[str], str] = str, untagged: str = "NULL", bom: bool = False
) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([FOCUS_HEADER[i] for i in CSV_ORDER])
    writer.writerows([row[i] for i in CSV_ORDER] for row in _focus_rows(lines, start, untagged))
    text = ("\ufeff" if bom else "") + buffer.getvalue()
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def focus_parquet(path: Path, lines: list[Line], *, zoned: bool) -> Path:
    kind = pa.timestamp("us", tz="UTC") if zoned else pa.timestamp("us")
    starts = pa.array([(s if zoned else s.removesuffix("Z")) for s, *_ in lines]).cast(kind)
    rows = _focus_rows(lines, str, "{}")
    table = pa.table(
        {
            "InvoiceId": [r[0] for r in rows],
            "ChargePeriodStart": starts,
            "ChargePeriodEnd": starts,
            "ServiceName": [r[3] for r in rows],
            "BilledCost": pa.array([Decimal(r[4]) for r in rows], pa.decimal128(38, 19)),
            "EffectiveCost": pa.array([Decimal(r[5]) for r in rows], pa.decimal128(38, 19)),
            "BillingCurrency": [r[6] for r in rows],
            "Tags": [r[7] for r in rows],
            "ChargeCategory": [r[8] for r in rows],
        }
    )
    pq.write_table(table, path)
    return path


def cur2_table(lines: list[Line]) -> pa.Table:
    starts = pa.array([line[0] for line in lines]).cast(pa.timestamp("ms", tz="UTC"))
    return pa.table(
        {
            "bill_invoice_id": [f"INV-{i}" for i in range(len(lines))],
            "line_item_line_item_type": [CUR_TYPES[line[5]] for line in lines],
            "line_item_usage_start_date": starts,
            "line_item_usage_end_date": starts,
            "line_item_product_code": [line[1] for line in lines],
            "line_item_unblended_cost": pa.array([float(line[2]) for line in lines], pa.float64()),
            "line_item_currency_code": [line[4] for line in lines],
            "resource_tags": pa.array(
                [[(f"user_{k}", v) for k, v in (line[3] or {}).items()] for line in lines],
                pa.map_(pa.string(), pa.string()),
            ),
        }
    )


def cur2_partitions(lines: list[Line]) -> dict[str, bytes]:
    """The Parquet files of a CUR 2.0 data export, by relative path ``BILLING_PERIOD=YYYY-MM/...``."""
    files: dict[str, bytes] = {}
    for month in sorted({line[0][:7] for line in lines}):
        sink = io.BytesIO()
        pq.write_table(cur2_table([line for line in lines if line[0][:7] == month]), sink)
        files[f"BILLING_PERIOD={month}/export-00001.snappy.parquet"] = sink.getvalue()
    return files


def cur2_folder(folder: Path, lines: list[Line]) -> Path:
    for relative, data in cur2_partitions(lines).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder


def legacy_without_tags(path: Path, lines: list[Line]) -> Path:
    header = (
        "bill/InvoiceId,lineItem/UsageStartDate,lineItem/ProductCode,lineItem/UnblendedCost,lineItem/CurrencyCode\n"
    )
    body = "".join(f"INV-1,{s},{service},{amount},{currency}\n" for s, service, amount, _t, currency, _c in lines)
    path.write_text(header + body)
    return path


# -- a legacy CUR as AWS delivers it for Athena: Parquet, a column per tag, a status table --------------

# As the public legacy samples have it: a month without the tag column (the tag was activated
# later), and AWS's own tag (aws:createdBy) beside the user's.
LEGACY_LINES: list[Line] = [
    ("2026-09-12T00:00:00Z", "AmazonEC2", "30.00", None, "USD", "Usage"),
    (
        "2026-10-01T00:00:00Z",
        "AmazonSageMaker",
        "12.3456789012",
        {"project": "churn", "createdBy": "alice"},
        "USD",
        "Usage",
    ),
    ("2026-10-31T23:30:00Z", "AmazonSageMaker", "7.10", {"project": "churn"}, "USD", "Usage"),
    ("2026-10-20T00:00:00Z", "AmazonEC2", "100.00", {"project": "fraud", "createdBy": "alice"}, "USD", "Usage"),
    ("2026-11-01T00:30:00Z", "AmazonS3", "0.0000001", {"project": "churn", "createdBy": "bob"}, "USD", "Usage"),
    ("2026-11-02T00:00:00Z", "AmazonSageMaker", "-1.25", {"project": "churn", "createdBy": "alice"}, "USD", "Credit"),
]
# The months whose files carry each tag's column: aws:createdBy only from November, so only a
# union of the months' columns by name finds it (the first file's schema alone would drop it).
LEGACY_TAG_MONTHS = {"project": ("2026-10", "2026-11"), "createdBy": ("2026-11",)}


def legacy_parquet_table(lines: list[Line], month: str) -> pa.Table:
    """One month of a legacy CUR in Parquet: CUR 2.0's column names, a column per tag."""
    starts = pa.array([line[0] for line in lines]).cast(pa.timestamp("ms", tz="UTC"))
    columns: dict[str, object] = {
        "bill_invoice_id": [f"INV-{month}" for _ in lines],
        "line_item_line_item_type": [CUR_TYPES[line[5]] for line in lines],
        "line_item_usage_start_date": starts,
        "line_item_product_code": [line[1] for line in lines],
        "line_item_unblended_cost": pa.array([float(line[2]) for line in lines], pa.float64()),
        "line_item_currency_code": [line[4] for line in lines],
    }
    names = {"project": "resource_tags_user_project", "createdBy": "resource_tags_aws_created_by"}
    for tag, column in names.items():
        if month in LEGACY_TAG_MONTHS[tag]:
            columns[column] = pa.array([(line[3] or {}).get(tag) for line in lines], pa.string())
    return pa.table(columns)


def status_table() -> bytes:
    """AWS's cost_and_usage_data_status table: one row per billing period, no line items."""
    sink = io.BytesIO()
    pq.write_table(pa.table({"bill_billing_period_start_date": ["2026-10-01"], "status": ["READY"]}), sink)
    return sink.getvalue()


def legacy_parquet_files(lines: list[Line], report: str = "workshop-cur") -> dict[str, bytes]:
    """A legacy CUR's Athena-ready delivery: ``<report>/year=YYYY/month=M/`` partitions, the status
    table beside them, and the CloudFormation template AWS puts there too."""
    files: dict[str, bytes] = {}
    for month in sorted({line[0][:7] for line in lines}):
        sink = io.BytesIO()
        pq.write_table(legacy_parquet_table([line for line in lines if line[0][:7] == month], month), sink)
        year, number = month.split("-")
        files[f"{report}/{report}/year={year}/month={int(number)}/{report}-00001.snappy.parquet"] = sink.getvalue()
    files[f"{report}/cost_and_usage_data_status/cost_and_usage_data_status.parquet"] = status_table()
    files[f"{report}/crawler-cfn.yml"] = b"AWSTemplateFormatVersion: 2010-09-09\n"
    return files


def legacy_parquet_folder(folder: Path, lines: list[Line]) -> Path:
    for relative, data in legacy_parquet_files(lines).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_bytes(data)
    return folder / "workshop-cur"


def pyarrow_total(files: list[Path], tag_column: str, value: str) -> dict[str, Decimal]:
    """The tagged spend by month, summed from the Parquet files with pyarrow alone: the reference."""
    out: dict[str, Decimal] = {}
    for path in files:
        table = pq.read_table(path)
        if tag_column not in table.column_names or "line_item_unblended_cost" not in table.column_names:
            continue
        for row in table.to_pylist():
            day = row["line_item_usage_start_date"].strftime("%Y-%m-%d")
            if row[tag_column] == value and START <= day <= END:
                # As AWS printed it: a double holds at most ten meaningful decimals here.
                amount = Decimal(repr(row["line_item_unblended_cost"])).quantize(Decimal("1E-10"))
                out[day[:7]] = out.get(day[:7], Decimal(0)) + amount
    return out


def cost_explorer_reply_by_tag(path: Path) -> Path:
    """A recorded GetCostAndUsage reply grouped by TAG project and SERVICE, as AWS returns it."""
    groups = {
        "2026-10-01": [("project$churn", "AmazonSageMaker", "19.4456789012"), ("project$fraud", "AmazonEC2", "100")],
        "2026-11-01": [("project$churn", "AmazonS3", "0.0000001"), ("project$", "AmazonEC2", "5")],
    }
    reply = {
        "GroupDefinitions": [{"Type": "TAG", "Key": "project"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
        "ResultsByTime": [
            {
                "TimePeriod": {"Start": start, "End": "2026-11-01" if start == "2026-10-01" else "2026-12-01"},
                "Total": {},
                "Groups": [
                    {"Keys": [tag, service], "Metrics": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}
                    for tag, service, amount in rows
                ],
                "Estimated": False,
            }
            for start, rows in groups.items()
        ],
        "DimensionValueAttributes": [],
    }
    path.write_text(json.dumps(reply))
    return path
