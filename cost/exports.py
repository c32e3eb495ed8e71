"""What a billing export is: its formats (CUR 2.0, legacy CUR, FOCUS 1.x) and the SQL that sums it.

Pure text: the formats are detected from column names, and every expression here is built
for DuckDB with user values (tag keys and values, dates) bound as parameters, never spliced.
``cost.billing`` runs the query.

Amortized cost (``--metric AmortizedCost``) follows AWS's definition for CUR (the CUR query
library's "amortized cost"): Savings Plan covered usage at its effective cost, RI discounted
usage at the reservation's effective cost, an RI fee or Savings Plan recurring fee only for
its unused part, negations and upfront fees not at all, everything else unblended. FOCUS
carries it ready-made as ``EffectiveCost``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from cost.periods import exclusive_end
from cost.table import SpendFilter
from tracker.errors import UsageError

__all__ = [
    "CUR2",
    "FOCUS",
    "LEGACY",
    "LEGACY_PARQUET",
    "ExportFormat",
    "build_query",
    "detect_format",
    "legacy_tag_column",
    "tag_keys",
]

AMORTIZED = "AmortizedCost"


@dataclass(frozen=True)
class ExportFormat:
    name: str
    start: str
    service: str
    currency: str
    amounts: dict[str, str]  # metric -> column
    invoice: str | None
    tag_column: str
    # How tags are kept: one map column (CUR 2.0), one JSON text column (FOCUS), or a column
    # per tag key, named like a CSV header (legacy CUR CSV) or like an Athena column (Parquet).
    tag_kind: str = "map"
    # The columns of AWS's amortized-cost formula, by role (CUR formats only).
    amortized: dict[str, str] = field(default_factory=dict)
    line_type: str | None = None


CUR2 = ExportFormat(
    "CUR 2.0",
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_currency_code",
    {
        "UnblendedCost": "line_item_unblended_cost",
        "BlendedCost": "line_item_blended_cost",
        "NetUnblendedCost": "line_item_net_unblended_cost",
    },
    "bill_invoice_id",
    "resource_tags",
    "map",
    {
        "unblended": "line_item_unblended_cost",
        "sp_effective": "savings_plan_savings_plan_effective_cost",
        "sp_commitment": "savings_plan_total_commitment_to_date",
        "sp_used": "savings_plan_used_commitment",
        "ri_effective": "reservation_effective_cost",
        "ri_unused_upfront": "reservation_unused_amortized_upfront_fee_for_billing_period",
        "ri_unused_recurring": "reservation_unused_recurring_fee",
        "ri_arn": "reservation_reservation_a_r_n",
    },
    "line_item_line_item_type",
)
LEGACY = ExportFormat(
    "legacy CUR",
    "lineItem/UsageStartDate",
    "lineItem/ProductCode",
    "lineItem/CurrencyCode",
    {
        "UnblendedCost": "lineItem/UnblendedCost",
        "BlendedCost": "lineItem/BlendedCost",
        "NetUnblendedCost": "lineItem/NetUnblendedCost",
    },
    "bill/InvoiceId",
    "resourceTags/",
    "columns",
    {
        "unblended": "lineItem/UnblendedCost",
        "sp_effective": "savingsPlan/SavingsPlanEffectiveCost",
        "sp_commitment": "savingsPlan/TotalCommitmentToDate",
        "sp_used": "savingsPlan/UsedCommitment",
        "ri_effective": "reservation/EffectiveCost",
        "ri_unused_upfront": "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
        "ri_unused_recurring": "reservation/UnusedRecurringFee",
        "ri_arn": "reservation/ReservationARN",
    },
    "lineItem/LineItemType",
)
FOCUS = ExportFormat(
    "FOCUS 1.x",
    "ChargePeriodStart",
    "ServiceName",
    "BillingCurrency",
    # FOCUS names its own bases: BilledCost is what the invoice says, EffectiveCost amortizes.
    {"UnblendedCost": "BilledCost", AMORTIZED: "EffectiveCost"},
    "InvoiceId",
    "Tags",
    "json",
)
# A legacy CUR delivered as Parquet (or exported from Athena): CUR 2.0's column names, but a
# column per tag (resource_tags_user_cost_center) instead of the resource_tags map.
LEGACY_PARQUET = replace(CUR2, name="legacy CUR (Parquet)", tag_column="resource_tags_", tag_kind="flat")

# CUR line item types, as charge types (cost.table.CHARGE_TYPES).
_CUR_CHARGE_TYPES = {
    "Usage": "usage",
    "DiscountedUsage": "usage",
    "SavingsPlanCoveredUsage": "usage",
    "SavingsPlanNegation": "usage",
    "Fee": "fee",
    "RIFee": "fee",
    "SavingsPlanRecurringFee": "fee",
    "SavingsPlanUpfrontFee": "fee",
    "Credit": "credit",
    "BundledDiscount": "credit",
    "EdpDiscount": "credit",
    "PrivateRateDiscount": "credit",
    "SppDiscount": "credit",
    "Discount": "credit",
    "Refund": "refund",
    "Tax": "tax",
}
_FOCUS_CHARGE_TYPES = {"Usage": "usage", "Purchase": "fee", "Credit": "credit", "Tax": "tax"}


def detect_format(columns: list[str]) -> ExportFormat:
    """The export's format, from its columns: FOCUS, CUR 2.0, legacy CUR as CSV, or as Parquet."""
    names = set(columns)
    if {"BilledCost", "ChargePeriodStart"} <= names:
        return FOCUS
    if "line_item_unblended_cost" in names:
        flat = any(name.startswith(LEGACY_PARQUET.tag_column) for name in names)
        return LEGACY_PARQUET if flat and CUR2.tag_column not in names else CUR2
    if "lineItem/UnblendedCost" in names:
        return LEGACY
    shown = ", ".join(columns[:12]) + (" ..." if len(columns) > 12 else "")
    raise UsageError(
        "the file is not a billing export: expected CUR 2.0 (line_item_unblended_cost), legacy CUR "
        f"(lineItem/UnblendedCost) or FOCUS (BilledCost, ChargePeriodStart) columns; found: {shown}"
    )


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _number(column: str, types: Mapping[str, str]) -> str:
    """An exact DECIMAL of a column: text and decimals as written (20 places), doubles to 10."""
    if column not in types:
        return "CAST(0 AS DECIMAL(38, 10))"
    if types[column].upper().startswith(("VARCHAR", "DECIMAL")):
        return f"coalesce(CAST(nullif(trim(CAST({quote(column)} AS VARCHAR)), '') AS DECIMAL(38, 20)), 0)"
    return f"coalesce(CAST(ROUND({quote(column)}, 10) AS DECIMAL(38, 10)), 0)"


def amount_expression(fmt: ExportFormat, metric: str, types: Mapping[str, str]) -> tuple[str, str]:
    """The SQL of one line's amount for ``metric``, and what it reads (for the table's details)."""
    if metric == AMORTIZED and fmt.amortized:
        return _cur_amortized(fmt, types), "AWS amortized cost (see the docs)"
    column = fmt.amounts.get(metric)
    if column is None or column not in types:
        allowed = [m for m, c in fmt.amounts.items() if c in types] + ([AMORTIZED] if fmt.amortized else [])
        raise UsageError(f"`cost.metric` {metric} is not in this {fmt.name} export; allowed here: {', '.join(allowed)}")
    return _number(column, types), column


def _cur_amortized(fmt: ExportFormat, types: Mapping[str, str]) -> str:
    c = {role: _number(column, types) for role, column in fmt.amortized.items() if role != "ri_arn"}
    line_type = _text(fmt.line_type, types)
    arn = _text(fmt.amortized["ri_arn"], types)
    return f"""CASE {line_type}
        WHEN 'SavingsPlanCoveredUsage' THEN {c["sp_effective"]}
        WHEN 'SavingsPlanRecurringFee' THEN {c["sp_commitment"]} - {c["sp_used"]}
        WHEN 'SavingsPlanNegation' THEN 0
        WHEN 'SavingsPlanUpfrontFee' THEN 0
        WHEN 'DiscountedUsage' THEN {c["ri_effective"]}
        WHEN 'RIFee' THEN {c["ri_unused_upfront"]} + {c["ri_unused_recurring"]}
        ELSE CASE WHEN {line_type} = 'Fee' AND {arn} <> '' THEN 0 ELSE {c["unblended"]} END
    END"""


def _text(column: str | None, types: Mapping[str, str]) -> str:
    if column is None or column not in types:
        return "''"
    return f"coalesce(CAST({quote(column)} AS VARCHAR), '')"


def charge_type_expression(fmt: ExportFormat, types: Mapping[str, str]) -> str:
    """The SQL of one line's charge type: usage, fee, credit, refund, tax or adjustment."""
    if fmt is FOCUS:
        category = _text("ChargeCategory", types)
        cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in _FOCUS_CHARGE_TYPES.items())
        charge_class = _text("ChargeClass", types)
        if "ChargeCategory" not in types:
            return "'usage'"
        by_category = f"CASE {category} {cases} ELSE 'adjustment' END"
        return f"CASE WHEN {charge_class} = 'Correction' THEN 'refund' ELSE {by_category} END"
    if fmt.line_type is None or fmt.line_type not in types:
        return "'usage'"
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in _CUR_CHARGE_TYPES.items())
    return f"CASE {_text(fmt.line_type, types)} {cases} ELSE 'adjustment' END"


def legacy_tag_column(key: str) -> str:
    """The column a legacy CUR in Parquet (or Athena) gives tag ``key``: ``cost_center`` ->
    ``resource_tags_user_cost_center``, ``aws:createdBy`` -> ``resource_tags_aws_created_by``.

    AWS's rule for these column names: the tag's prefix (``user:`` for your tags, ``aws:`` for
    AWS's) joined by an underscore, camelCase split into words, every character that is not a
    letter or a digit an underscore, all in lower case.
    """
    prefix, _, name = key.partition(":") if key.startswith(("user:", "aws:")) else ("user", ":", key)
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return LEGACY_PARQUET.tag_column + prefix + "_" + re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")


def tag_keys(fmt: ExportFormat, types: Mapping[str, str]) -> list[str]:
    """The tag keys an export has a column for (legacy CUR); for a map or JSON column, none known yet."""
    if fmt.tag_kind not in ("flat", "columns"):
        return []
    names = [c.removeprefix(fmt.tag_column) for c in types if c.startswith(fmt.tag_column)]
    if fmt.tag_kind == "flat":  # user_cost_center -> cost_center, aws_created_by -> aws:created_by
        names = [n.removeprefix("user_") if n.startswith("user_") else n.replace("aws_", "aws:", 1) for n in names]
    return sorted(n.removeprefix("user:") for n in names)


def tag_value(fmt: ExportFormat, key: str, types: Mapping[str, str]) -> tuple[str, list[Any]]:
    """The SQL of one line's value for tag ``key`` (NULL when untagged), its parameters bound.

    A tag that the export has no column for is an error naming the keys it does have: no line
    could match, and a total of 0 would be the worst answer an ROI report could give.
    """
    if fmt.tag_kind in ("flat", "columns"):
        column = legacy_tag_column(key) if fmt.tag_kind == "flat" else fmt.tag_column + _legacy_csv_key(key)
        if column not in types:
            raise _no_tag_column(fmt, key, column, tag_keys(fmt, types))
        # A month whose files lack the column reads it as NULL: untagged, as AWS means it.
        return f"nullif(CAST({quote(column)} AS VARCHAR), '')", []
    column = fmt.tag_column
    if column not in types:
        raise _no_tag_column(fmt, key, column, [])
    keys = ["user_" + "".join(c if c.isalnum() else "_" for c in key)] if fmt is CUR2 else [key, f"user:{key}"]
    if types[column].upper().startswith("MAP"):
        return f"coalesce({', '.join(f'{quote(column)}[?]' for _ in keys)})", keys
    # Untagged FOCUS rows hold the text NULL, an empty string or {}: not JSON, or no key.
    paths = ", ".join(f"json_extract_string({quote(column)}, ?)" for _ in keys)
    json_paths = ['$."' + k.replace('"', '\\"') + '"' for k in keys]
    return f"CASE WHEN json_valid({quote(column)}) THEN coalesce({paths}) END", json_paths


def _legacy_csv_key(key: str) -> str:
    return key if key.startswith(("user:", "aws:")) else f"user:{key}"


def _no_tag_column(fmt: ExportFormat, key: str, column: str, keys: list[str]) -> UsageError:
    shown = ", ".join(keys[:20]) + (" ..." if len(keys) > 20 else "") if keys else "none"
    return UsageError(
        f"`tags`: this {fmt.name} export has no {column} column, so no line can carry the tag {key!r}; "
        f"its tag keys are: {shown}. Activate the tag as a cost-allocation tag in the Billing console and "
        "include resource tags in the export (tags appear only in exports made after activation), or fix the key"
    )


def _periods(spend_filter: SpendFilter, start_ts: str) -> tuple[str, str]:
    if spend_filter.granularity == "daily":
        return (
            f"CAST(date_trunc('day', {start_ts}) AS DATE)",
            f"CAST(date_trunc('day', {start_ts}) + INTERVAL 1 DAY AS DATE)",
        )
    month = f"date_trunc('month', {start_ts})"
    period_start = f"CAST({month} AS DATE)"
    period_end = f"CAST({month} + INTERVAL 1 MONTH AS DATE)"
    if spend_filter.start is not None:
        period_start = f"greatest({period_start}, CAST({literal(spend_filter.start.isoformat())} AS DATE))"
    if spend_filter.end is not None:
        period_end = f"least({period_end}, CAST({literal(exclusive_end(spend_filter.end).isoformat())} AS DATE))"
    return period_start, period_end


def build_query(
    fmt: ExportFormat, spend_filter: SpendFilter, scan: str, types: Mapping[str, str]
) -> tuple[str, list[Any], str]:
    """The query that sums the export by period, service, charge type and currency.

    Every line in the date range is counted (``lines``), and the tagged ones summed
    (``amount``, ``matched``), in one pass: the counts say how many lines each month held,
    and whether any carried the tag at all. Returns the SQL, its parameters, and what the
    amount reads.
    """
    # A bill's periods are UTC: zoned times are converted, naive ones taken as UTC (the
    # connection's TimeZone is UTC).
    start_tz = f"CAST({quote(fmt.start)} AS TIMESTAMPTZ)"
    start_ts = f"timezone('UTC', {start_tz})"
    tagged: list[str] = []
    parameters: list[Any] = []
    for key, value in spend_filter.tags:
        expression, bound = tag_value(fmt, key, types)
        tagged.append(f"coalesce({expression} = ?, FALSE)")
        parameters.extend([*bound, value])
    in_range: list[str] = []
    for bound_day, operator in ((spend_filter.start, ">="), (_after(spend_filter.end), "<")):
        if bound_day is not None:
            # On the column as it is, so DuckDB can skip row groups by their statistics.
            in_range.append(f"{start_tz} {operator} CAST(? AS TIMESTAMPTZ)")
            parameters.append(bound_day)
    amount, reads = amount_expression(fmt, spend_filter.metric, types)
    estimated = "FALSE"
    if fmt.invoice and fmt.invoice in types:
        estimated = f"coalesce(CAST({quote(fmt.invoice)} AS VARCHAR), '') = ''"
    period_start, period_end = _periods(spend_filter, start_ts)
    query = f"""
        WITH lines AS (
            SELECT *, {" AND ".join(tagged) if tagged else "TRUE"} AS tagged__
            FROM {scan}
            WHERE {" AND ".join(in_range) if in_range else "TRUE"}
        )
        SELECT {period_start} AS period_start, {period_end} AS period_end,
               CAST({quote(fmt.service)} AS VARCHAR) AS service,
               CAST({quote(fmt.currency)} AS VARCHAR) AS currency,
               coalesce(bool_or({estimated}) FILTER (WHERE tagged__), FALSE) AS estimated,
               {charge_type_expression(fmt, types)} AS charge_type,
               coalesce(SUM({amount}) FILTER (WHERE tagged__), 0) AS amount,
               COUNT(*) AS lines,
               COUNT(*) FILTER (WHERE tagged__) AS matched
        FROM lines
        GROUP BY ALL
        ORDER BY 1, 2, 3, 4
    """
    return query, parameters, reads


def _after(end: date | None) -> date | None:
    return exclusive_end(end) if end is not None else None
