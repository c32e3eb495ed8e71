"""Billing exports: CUR 2.0, legacy CUR and FOCUS 1.x, as Parquet or CSV (gzip too).

The format is detected from the columns. Only the needed columns are read, with the date
filter pushed down to the scan, and the sum is streamed by DuckDB, so an export of tens
of millions of line items is read in bounded memory. Amounts stay exact: CSV text is cast
straight to DECIMAL(38,20), so the 11 to 19 decimals FOCUS allows survive; Parquet doubles
(as AWS writes them) are rounded to ten decimal places, which recovers the decimal AWS
printed.

A bill's periods are UTC: every timestamp is read as UTC (a zoned one converted, a naive
one taken as UTC), whatever the machine's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cost.periods import exclusive_end, validate_range
from cost.table import SpendFilter, SpendRow, SpendTable, merge_rows
from tracker.errors import UsageError

__all__ = ["BillingFileSource", "detect_format"]


@dataclass(frozen=True)
class _Format:
    name: str
    start: str
    end: str
    service: str
    currency: str
    amounts: dict[str, str]  # metric -> column
    invoice: str | None


CUR2 = _Format(
    "CUR 2.0",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "line_item_product_code",
    "line_item_currency_code",
    {
        "UnblendedCost": "line_item_unblended_cost",
        "BlendedCost": "line_item_blended_cost",
        "NetUnblendedCost": "line_item_net_unblended_cost",
    },
    "bill_invoice_id",
)
LEGACY = _Format(
    "legacy CUR",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "lineItem/ProductCode",
    "lineItem/CurrencyCode",
    {
        "UnblendedCost": "lineItem/UnblendedCost",
        "BlendedCost": "lineItem/BlendedCost",
        "NetUnblendedCost": "lineItem/NetUnblendedCost",
    },
    "bill/InvoiceId",
)
FOCUS = _Format(
    "FOCUS 1.x",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ServiceName",
    "BillingCurrency",
    # FOCUS names its own bases: BilledCost is what the invoice says, EffectiveCost amortizes.
    {"UnblendedCost": "BilledCost", "AmortizedCost": "EffectiveCost"},
    "InvoiceId",
)


def detect_format(columns: list[str]) -> _Format:
    names = set(columns)
    if {"BilledCost", "ChargePeriodStart"} <= names:
        return FOCUS
    if "line_item_unblended_cost" in names:
        return CUR2
    if "lineItem/UnblendedCost" in names:
        return LEGACY
    shown = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
    raise UsageError(
        "the file is not a billing export: expected CUR 2.0 (line_item_unblended_cost), legacy CUR "
        f"(lineItem/UnblendedCost) or FOCUS (BilledCost, ChargePeriodStart) columns; found: {shown}"
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class BillingFileSource:
    """Spend from a billing export: one file, or a folder of partitions."""

    name = "billing-file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def _scan(self) -> tuple[str, str]:
        """The DuckDB table expression for the file(s), and their kind (parquet or csv)."""
        path = self.path
        if not path.exists():
            raise UsageError(f"--file: {path} does not exist")
        if path.is_dir():
            parquet = sorted(str(p) for p in path.rglob("*.parquet"))
            csv = sorted(str(p) for p in path.rglob("*") if p.name.endswith((".csv", ".csv.gz")))
            files, kind = (parquet, "parquet") if parquet else (csv, "csv")
            if not files:
                raise UsageError(f"--file: no .parquet, .csv or .csv.gz files under {path}")
        else:
            files = [str(path)]
            kind = "parquet" if path.name.endswith(".parquet") else "csv"
        listing = "[" + ", ".join(_literal(f) for f in files) + "]"
        if kind == "parquet":
            return f"read_parquet({listing}, union_by_name=true)", kind
        # Every CSV column as text: amounts are cast to DECIMAL from the digits as written.
        return f"read_csv({listing}, all_varchar=true, header=true, union_by_name=true)", kind

    def fetch(self, spend_filter: SpendFilter) -> SpendTable:
        import duckdb

        validate_range(spend_filter.start, spend_filter.end)
        scan, kind = self._scan()
        con = duckdb.connect()
        try:
            # Periods are UTC; DuckDB would otherwise bucket zoned timestamps in the machine's zone.
            con.execute("SET TimeZone = 'UTC'")
            try:
                described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
            except duckdb.Error as exc:
                raise UsageError(
                    f"--file: {self.path} is not a readable Parquet or CSV billing export "
                    f"({_first_line(exc)}); give a CUR 2.0, legacy CUR or FOCUS export"
                ) from exc
            columns = [row[0] for row in described]
            types = {row[0]: str(row[1]) for row in described}
            fmt = detect_format(columns)
            amount_column = fmt.amounts.get(spend_filter.metric)
            if amount_column is None or amount_column not in types:
                allowed = ", ".join(m for m, c in fmt.amounts.items() if c in types)
                raise UsageError(
                    f"--metric {spend_filter.metric} is not in this {fmt.name} export; allowed here: {allowed}"
                )
            query, parameters, notes = self._query(fmt, spend_filter, scan, amount_column, columns, types)
            try:
                records = con.execute(query, parameters).fetchall()
            except duckdb.Error as exc:
                raise UsageError(
                    f"--file: {self.path}: a value the {fmt.name} export should hold cannot be read "
                    f"({_first_line(exc)}); check that the file is an unmodified export"
                ) from exc
        finally:
            con.close()
        rows = [
            SpendRow(_day(start), _day(end), service or "(no service)", Decimal(amount), currency or "USD", bool(est))
            for start, end, service, currency, est, amount in records
        ]
        details = (("format", fmt.name), ("files", kind), ("column", amount_column), ("path", str(self.path)))
        return SpendTable(self.name, spend_filter, merge_rows(rows), tuple(notes), details)

    def _tag_condition(
        self, fmt: _Format, key: str, value: str, columns: list[str], types: dict[str, str]
    ) -> tuple[str, list[Any], str | None]:
        """The SQL condition for one tag (its key and value bound as parameters), and a note
        when the export has no column for the tag at all, so no line can match."""
        if fmt is LEGACY:
            column = f"resourceTags/user:{key}"
            if column not in columns:
                return "FALSE", [], _no_tag_column(fmt, key, column)
            return f"{_quote(column)} = ?", [value], None
        column = "resource_tags" if fmt is CUR2 else "Tags"
        if column not in columns:
            return "FALSE", [], _no_tag_column(fmt, key, column)
        if fmt is CUR2:
            keys = ["user_" + "".join(c if c.isalnum() else "_" for c in key)]
        else:
            keys = [key, f"user:{key}"]
        if types[column].upper().startswith("MAP"):
            lookups = [f"element_at({_quote(column)}, ?)[1]" for _ in keys]
            return f"coalesce({', '.join(lookups)}) = ?", [*keys, value], None
        # Untagged FOCUS rows hold the text NULL, an empty string or {}: not JSON, or no key.
        paths = [f"json_extract_string({_quote(column)}, ?)" for _ in keys]
        json_paths = ['$."' + k.replace('"', '\\"') + '"' for k in keys]
        condition = f"(json_valid({_quote(column)}) AND coalesce({', '.join(paths)}) = ?)"
        return condition, [*json_paths, value], None

    def _query(
        self,
        fmt: _Format,
        spend_filter: SpendFilter,
        scan: str,
        amount_column: str,
        columns: list[str],
        types: dict[str, str],
    ) -> tuple[str, list[Any], list[str]]:
        start_ts = f"timezone('UTC', CAST({_quote(fmt.start)} AS TIMESTAMPTZ))"
        conditions: list[str] = []
        parameters: list[Any] = []
        notes: list[str] = []
        for key, value in spend_filter.tags:
            condition, bound, note = self._tag_condition(fmt, key, value, columns, types)
            conditions.append(condition)
            parameters.extend(bound)
            if note:
                notes.append(note)
        if spend_filter.start is not None:
            conditions.append(f"{start_ts} >= CAST(? AS TIMESTAMP)")
            parameters.append(spend_filter.start)
        if spend_filter.end is not None:
            conditions.append(f"{start_ts} < CAST(? AS TIMESTAMP)")
            parameters.append(exclusive_end(spend_filter.end))
        amount = f"CAST({_quote(amount_column)} AS DECIMAL(38, 20))"
        if not types[amount_column].upper().startswith(("VARCHAR", "DECIMAL")):
            amount = f"CAST(ROUND({_quote(amount_column)}, 10) AS DECIMAL(38, 10))"
        if fmt.invoice and fmt.invoice in columns:
            estimated = f"coalesce(CAST({_quote(fmt.invoice)} AS VARCHAR), '') = ''"
        else:
            estimated = "FALSE"
        if spend_filter.granularity == "daily":
            period_start = f"CAST(date_trunc('day', {start_ts}) AS DATE)"
            period_end = f"CAST(date_trunc('day', {start_ts}) + INTERVAL 1 DAY AS DATE)"
        else:
            month = f"date_trunc('month', {start_ts})"
            period_start = f"CAST({month} AS DATE)"
            period_end = f"CAST({month} + INTERVAL 1 MONTH AS DATE)"
            if spend_filter.start is not None:
                period_start = f"greatest({period_start}, CAST({_literal(spend_filter.start.isoformat())} AS DATE))"
            if spend_filter.end is not None:
                end_literal = _literal(exclusive_end(spend_filter.end).isoformat())
                period_end = f"least({period_end}, CAST({end_literal} AS DATE))"
        where = " AND ".join(conditions) if conditions else "TRUE"
        query = f"""
            SELECT {period_start} AS period_start, {period_end} AS period_end,
                   CAST({_quote(fmt.service)} AS VARCHAR) AS service,
                   CAST({_quote(fmt.currency)} AS VARCHAR) AS currency,
                   bool_or({estimated}) AS estimated,
                   SUM({amount}) AS amount
            FROM {scan}
            WHERE {where}
            GROUP BY ALL
            ORDER BY 1, 2, 3, 4
        """
        return query, parameters, notes


def _no_tag_column(fmt: _Format, key: str, column: str) -> str:
    return (
        f"this {fmt.name} export has no {column} column, so no line carries the tag {key!r} (total 0): "
        "activate the tag as a cost-allocation tag in the Billing console, and include resource tags in "
        "the export; tags appear only in exports made after activation"
    )


def _first_line(exc: Exception) -> str:
    """A DuckDB message's first line, clipped: its sniffer diagnostics and SQL are for developers."""
    line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return line if len(line) <= 160 else line[:157] + "..."


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
