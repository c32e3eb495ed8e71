"""The spend table: what every cost source returns, the same shape whatever the source."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from tracker.errors import UsageError
from tracker.money import exact_text

__all__ = ["CHARGE_TYPES", "SpendFilter", "SpendRow", "SpendTable", "merge_rows"]

# What a line of a bill is: usage (on demand or covered by a commitment), a fee (reservation,
# Savings Plan, support), a credit or discount, a refund, tax, or another adjustment.
CHARGE_TYPES = ("usage", "fee", "credit", "refund", "tax", "adjustment")


@dataclass(frozen=True)
class SpendRow:
    """Spend on one service over one period. ``period_end`` is exclusive, as AWS defines it."""

    period_start: date
    period_end: date
    service: str
    amount: Decimal
    currency: str
    estimated: bool
    charge_type: str = "usage"  # one of CHARGE_TYPES

    def to_json(self) -> dict[str, Any]:
        return {
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "service": self.service,
            "charge_type": self.charge_type,
            "amount": exact_text(self.amount),
            "currency": self.currency,
            "estimated": self.estimated,
        }


@dataclass(frozen=True)
class SpendFilter:
    """What the spend was filtered by: cost-allocation tags and an inclusive date range."""

    tags: tuple[tuple[str, str], ...]
    start: date | None
    end: date | None  # inclusive, as the user gave it
    granularity: str = "monthly"
    metric: str = "UnblendedCost"
    experiment: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "tags": dict(self.tags),
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "granularity": self.granularity,
            "metric": self.metric,
        }
        if self.experiment is not None:
            out["experiment"] = self.experiment
        return out

    def describe(self) -> str:
        tags = " and ".join(f"{k}={v}" for k, v in self.tags) or "no tag"
        span = f"{self.start or 'the start'} to {self.end or 'today'}"
        return f"{tags}, {span} (inclusive), {self.metric}"


@dataclass(frozen=True)
class SpendTable:
    """Rows of spend plus where they came from: the source, the filter, and notes."""

    source: str
    filter: SpendFilter
    rows: tuple[SpendRow, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)
    # e.g. the billing format detected, or how many Cost Explorer requests were made.
    details: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # What the reader must see before trusting the total (a tag that matched no line).
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def currencies(self) -> tuple[str, ...]:
        return tuple(sorted({row.currency for row in self.rows}))

    @property
    def currency(self) -> str:
        currencies = self.currencies
        if len(currencies) > 1:
            raise UsageError(
                f"the spend is in {len(currencies)} currencies ({', '.join(currencies)}); choose one with `currency`"
            )
        return currencies[0] if currencies else "USD"

    @property
    def total(self) -> Decimal:
        self.currency  # noqa: B018 - raises on mixed currencies, so no total adds USD to EUR
        return sum((row.amount for row in self.rows), Decimal(0))

    @property
    def estimated(self) -> bool:
        return any(row.estimated for row in self.rows)

    def only_currency(self, currency: str) -> SpendTable:
        rows = tuple(r for r in self.rows if r.currency == currency)
        note = f"kept the {currency} lines only; {len(self.rows) - len(rows)} lines in other currencies left out"
        return SpendTable(self.source, self.filter, rows, (*self.notes, note), self.details, self.warnings)

    def by_service(self) -> dict[str, Decimal]:
        out: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.rows:
            out[row.service] += row.amount
        return dict(sorted(out.items(), key=lambda item: (-item[1], item[0])))

    def by_charge_type(self) -> dict[str, Decimal]:
        """Usage, fees, credits, refunds and tax apart; they add up to :attr:`total`."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.rows:
            out[row.charge_type] += row.amount
        order = {name: index for index, name in enumerate(CHARGE_TYPES)}
        return dict(sorted(out.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))

    def by_period(self) -> dict[tuple[date, date], Decimal]:
        out: dict[tuple[date, date], Decimal] = defaultdict(Decimal)
        for row in self.rows:
            out[(row.period_start, row.period_end)] += row.amount
        return dict(sorted(out.items()))

    def by_month(self) -> dict[str, Decimal]:
        """Totals by the calendar month (``YYYY-MM``) each period starts in."""
        out: dict[str, Decimal] = defaultdict(Decimal)
        for row in self.rows:
            out[row.period_start.strftime("%Y-%m")] += row.amount
        return dict(sorted(out.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "filter": self.filter.to_json(),
            "currency": self.currency,
            "total": exact_text(self.total),
            "by_charge_type": {k: exact_text(v) for k, v in self.by_charge_type().items()},
            "estimated": self.estimated,
            "details": dict(self.details),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "rows": [row.to_json() for row in self.rows],
        }

    def to_csv(self) -> str:
        """One line per row, amounts exact, with a header; what ``tracker cost --format csv`` prints."""
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["period_start", "period_end", "service", "amount", "currency", "estimated", "charge_type"])
        for row in self.rows:
            item = row.to_json()
            writer.writerow(
                [
                    item["period_start"],
                    item["period_end"],
                    item["service"],
                    item["amount"],
                    item["currency"],
                    str(row.estimated).lower(),
                    row.charge_type,
                ]
            )
        return buffer.getvalue()


def merge_rows(rows: list[SpendRow]) -> tuple[SpendRow, ...]:
    """One row per (period, service, charge type, currency, estimated), sorted by period then service."""
    sums: dict[tuple[date, date, str, str, str, bool], Decimal] = defaultdict(Decimal)
    for row in rows:
        sums[(row.period_start, row.period_end, row.service, row.charge_type, row.currency, row.estimated)] += (
            row.amount
        )
    return tuple(
        SpendRow(start, end, service, amount, currency, estimated, charge)
        for (start, end, service, charge, currency, estimated), amount in sorted(sums.items())
    )
