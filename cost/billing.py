"""Billing exports: CUR 2.0, legacy CUR and FOCUS 1.x, as Parquet or CSV (gzip too).

The format is detected from the columns. Only the needed columns are read, with the date
filter pushed down to the scan, and the sum is streamed by DuckDB, so an export of tens
of millions of line items is read in bounded memory. Amounts stay exact: CSV text is cast
straight to DECIMAL(38,10); Parquet doubles (as AWS writes them) are rounded to ten
decimal places, which recovers the decimal AWS printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cost.periods import exclusive_end, validate_range
from cost.table import SpendFilter, SpendRow, SpendTable, merge_rows
from tracker.errors import TrackerError, UsageError

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
            try:
                described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
            except duckdb.Error as exc:
                raise UsageError(f"--file: {self.path} is not a readable Parquet or CSV billing export: {exc}") from exc
            columns = [row[0] for row in described]
            types = {row[0]: str(row[1]) for row in described}
            fmt = detect_format(columns)
            amount_column = fmt.amounts.get(spend_filter.metric)
            if amount_column is None or amount_column not in types:
                allowed = ", ".join(m for m, c in fmt.amounts.items() if c in types)
                raise UsageError(
                    f"--metric {spend_filter.metric} is not in this {fmt.name} export; allowed here: {allowed}"
                )
            query, parameters = self._query(fmt, spend_filter, scan, amount_column, columns, types)
            try:
                records = con.execute(query, parameters).fetchall()
            except duckdb.Error as exc:
                raise TrackerError(f"reading {self.path} failed: {exc}") from exc
        finally:
            con.close()
        rows = [
            SpendRow(_day(start), _day(end), service or "(no service)", Decimal(amount), currency or "USD", bool(est))
            for start, end, service, currency, est, amount in records
        ]
        details = (("format", fmt.name), ("files", kind), ("column", amount_column), ("path", str(self.path)))
        return SpendTable(self.name, spend_filter, merge_rows(rows), (), details)

    def _tag_condition(self, fmt: _Format, key: str, columns: list[str], types: dict[str, str]) -> str:
        if fmt is LEGACY:
            column = f"resourceTags/user:{key}"
            if column not in columns:
                return "FALSE"  # no line carries the tag
            return f"{_quote(column)} = ?"
        if fmt is CUR2:
            if "resource_tags" not in columns:
                raise UsageError("this CUR 2.0 export has no resource_tags column; include it in the export")
            normalised = "user_" + "".join(c if c.isalnum() else "_" for c in key)
            if types["resource_tags"].upper().startswith("MAP"):
                return f"resource_tags[{_literal(normalised)}] = ?"
            return f"json_extract_string(resource_tags, {_literal('$.' + normalised)}) = ?"
        if "Tags" not in columns:
            raise UsageError("this FOCUS export has no Tags column")
        if types["Tags"].upper().startswith("MAP"):
            return f"coalesce(Tags[{_literal(key)}], Tags[{_literal('user:' + key)}]) = ?"
        path_plain = _literal(f'$."{key}"')
        path_user = _literal(f'$."user:{key}"')
        return f"coalesce(json_extract_string(Tags, {path_plain}), json_extract_string(Tags, {path_user})) = ?"

    def _query(
        self,
        fmt: _Format,
        spend_filter: SpendFilter,
        scan: str,
        amount_column: str,
        columns: list[str],
        types: dict[str, str],
    ) -> tuple[str, list[Any]]:
        start_ts = f"CAST({_quote(fmt.start)} AS TIMESTAMP)"
        conditions: list[str] = []
        parameters: list[Any] = []
        for key, value in spend_filter.tags:
            conditions.append(self._tag_condition(fmt, key, columns, types))
            parameters.append(value)
        if spend_filter.start is not None:
            conditions.append(f"{start_ts} >= CAST(? AS TIMESTAMP)")
            parameters.append(spend_filter.start)
        if spend_filter.end is not None:
            conditions.append(f"{start_ts} < CAST(? AS TIMESTAMP)")
            parameters.append(exclusive_end(spend_filter.end))
        amount = f"CAST({_quote(amount_column)} AS DECIMAL(38, 10))"
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
        return query, parameters


def _day(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])
