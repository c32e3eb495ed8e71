"""Billing exports: CUR 2.0, legacy CUR and FOCUS 1.x, as Parquet or CSV (gzip too), local or on S3.

The format is detected from the columns (``cost.exports``). Only the needed columns are
read, with the date filter pushed down to the scan, and the sum is streamed by DuckDB, so
an export of tens of millions of line items is read in bounded memory. Amounts stay exact:
CSV text is cast straight to DECIMAL(38,20), so the 11 to 19 decimals FOCUS allows
survive; Parquet doubles (as AWS writes them) are rounded to ten decimal places, which
recovers the decimal AWS printed.

A bill's periods are UTC: every timestamp is read as UTC (a zoned one converted, a naive
one taken as UTC), whatever the machine's time zone.

``s3://bucket/prefix/`` reads a data export where AWS delivers it: the Parquet files under
the prefix, through pyarrow's S3 filesystem with the standard AWS credential chain (as
boto3 resolves it) and ``AWS_ENDPOINT_URL_S3``. Partitions (``BILLING_PERIOD=2026-10``,
or ``year=2026/month=10``) outside the date range are never opened. A local folder and an
S3 prefix select their files by one rule (``cost.files``: AWS's status, manifest and set-up
files skipped) and union the files' columns by name, so a column that only later months
have (``savings_plan_*``, a newly activated tag) is read wherever it exists.

A ``.json`` file is a recorded Cost Explorer reply (``GetCostAndUsage``), read by its
``GroupDefinitions``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cost.exports import build_query, detect_format, literal
from cost.files import select_export_files
from cost.periods import validate_range
from cost.table import SpendFilter, SpendRow, SpendTable, merge_rows
from tracker.errors import TrackerError, UsageError, first_line

__all__ = ["BillingFileSource", "detect_format"]


class BillingFileSource:
    """Spend from a billing export: one file, a folder of partitions, or an S3 prefix."""

    name = "billing-file"

    def __init__(self, path: Path | str) -> None:
        self.location = str(path)
        self.path = Path(path) if not self.location.startswith("s3://") else None

    def _local_scan(self) -> tuple[str, str]:
        """The DuckDB table expression for the local file(s), and what they are."""
        path = self.path
        assert path is not None
        if not path.exists():
            raise UsageError(f"`cost.file`: {path} does not exist")
        if path.is_dir():
            selected = select_export_files((str(p) for p in path.rglob("*") if p.is_file()), str(path))
            files, kind, described = list(selected.files), selected.kind, selected.describe()
        else:
            files = [str(path)]
            kind = "parquet" if path.name.endswith(".parquet") else "csv"
            described = kind
        listing = "[" + ", ".join(literal(f) for f in files) + "]"
        if kind == "parquet":
            return f"read_parquet({listing}, union_by_name=true)", described
        # Every CSV column as text: amounts are cast to DECIMAL from the digits as written.
        return f"read_csv({listing}, all_varchar=true, header=true, union_by_name=true)", described

    def fetch(self, spend_filter: SpendFilter) -> SpendTable:
        """The spend the filter selects: summed by period, service, charge type and currency."""
        import duckdb

        validate_range(spend_filter.start, spend_filter.end)
        if self.path is not None and self.path.suffix.lower() == ".json":
            from cost.explorer import recorded_reply

            return recorded_reply(self.path, spend_filter, self.name)
        con = duckdb.connect()
        try:
            # Periods are UTC; DuckDB would otherwise bucket zoned timestamps in the machine's zone.
            con.execute("SET TimeZone = 'UTC'")
            if self.path is None:
                from cost.s3 import register_s3_export

                kind = register_s3_export(con, "export_scan", self.location, spend_filter)
                scan = "export_scan"
            else:
                scan, kind = self._local_scan()
            records, fmt_name, reads = self._sum(con, scan, spend_filter)
        finally:
            con.close()
        rows = [
            SpendRow(
                _day(start), _day(end), service or "(no service)", Decimal(amount), currency or "USD", bool(est), charge
            )
            for start, end, service, currency, est, charge, amount, _lines, matched in records
            if matched
        ]
        details = (
            ("format", fmt_name),
            ("files", kind),
            ("column", reads),
            ("path", self.location),
            ("lines by month", _lines_by_month(records)),
        )
        return SpendTable(self.name, spend_filter, merge_rows(rows), (), details, _warnings(records, spend_filter))

    def _sum(self, con: Any, scan: str, spend_filter: SpendFilter) -> tuple[list[Any], str, str]:
        import duckdb

        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        except duckdb.Error as exc:
            raise UsageError(
                f"`cost.file`: {self.location} is not a readable Parquet or CSV billing export "
                f"({first_line(exc)}); give a CUR 2.0, legacy CUR or FOCUS export"
            ) from exc
        types = {row[0]: str(row[1]) for row in described}
        fmt = detect_format(list(types))
        query, parameters, reads = build_query(fmt, spend_filter, scan, types)
        import pyarrow as pa

        try:
            records = con.execute(query, parameters).fetchall()
        except pa.ArrowException as exc:  # an S3 file that Arrow reads for DuckDB
            raise UsageError(
                f"`cost.file`: a file under {self.location} cannot be read ({first_line(exc)}); "
                "check that every file there is an unmodified export"
            ) from exc
        except duckdb.IOException as exc:
            raise TrackerError(f"reading {self.location} failed ({first_line(exc)}); rerun") from exc
        except duckdb.Error as exc:
            raise UsageError(
                f"`cost.file`: {self.location}: a value the {fmt.name} export should hold cannot be read "
                f"({first_line(exc)}); check that the file is an unmodified export"
            ) from exc
        return records, fmt.name, reads


def _lines_by_month(records: list[Any]) -> str:
    """How many line items each billing month held in the date range, tagged or not."""
    months: dict[str, int] = {}
    for record in records:
        month = str(_day(record[0]))[:7]
        months[month] = months.get(month, 0) + int(record[7])
    return ", ".join(f"{month}: {count:,}" for month, count in sorted(months.items())) or "none in the range"


def _warnings(records: list[Any], spend_filter: SpendFilter) -> tuple[str, ...]:
    """A tag whose column exists but that no line carries gives 0: said, never silent."""
    if not spend_filter.tags or any(record[8] for record in records):
        return ()
    lines = sum(int(record[7]) for record in records)
    tags = " and ".join(f"{key}={value}" for key, value in spend_filter.tags)
    span = f"{spend_filter.start or 'the start'} to {spend_filter.end or 'the end'}"
    return (
        f"no line of the {lines:,} from {span} carries {tags}, so the spend is 0: check the tag's value "
        "and that the tag was active when these lines were billed",
    )


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
