"""Where a report's figures came from: the development spend as the bill states it, and the provenance."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from reports.figures._codec import Figures, Json


@dataclass(frozen=True)
class SpendWindowFigures(Figures):
    start: date | None
    end: date | None
    chosen_by: str
    runs_first_day: date | None
    runs_last_day: date | None


@dataclass(frozen=True)
class SpendLine(Figures):
    """An amount of spend by one key: a service, a charge type, a period."""

    key: str
    amount: Decimal
    # A charge type's amount to every digit, beside its cents.
    amount_exact: str | None = None


@dataclass(frozen=True)
class PeriodLine(Figures):
    period_start: str
    period_end: str
    amount: Decimal


@dataclass(frozen=True)
class DevelopmentCostLine(Figures):
    line: str
    amount: Decimal


@dataclass(frozen=True)
class EstimateBeside(Figures):
    """The sweep's own estimate from trial durations, set beside billed spend."""

    total: Decimal
    currency: str
    source: str


@dataclass(frozen=True)
class SpendFigures(Figures):
    """The development spend: where it came from, its total, and its lines by service, type and period."""

    source: str
    window: SpendWindowFigures
    filter: Json
    basis: str
    metric: str
    currency: str
    total: Decimal
    total_exact: str
    estimated: bool
    estimated_lines: int
    by_service: tuple[SpendLine, ...]
    by_charge_type: tuple[SpendLine, ...]
    development_cost_lines: tuple[DevelopmentCostLine, ...]
    development_cost: Decimal | None
    by_period: tuple[PeriodLine, ...]
    by_period_shown: tuple[PeriodLine, ...]
    shown_as: str
    details: dict[str, str]
    notes: tuple[str, ...]
    estimated_alongside: EstimateBeside | None

    def to_json(self) -> dict[str, Json]:
        out = super().to_json()
        out["by_service"] = [_spend_line(line, "service") for line in self.by_service]
        out["by_charge_type"] = [_spend_line(line, "charge_type") for line in self.by_charge_type]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SpendFigures:
        lines = {
            name: [{("key" if k == key else k): v for k, v in row.items()} for row in data[name]]
            for name, key in (("by_service", "service"), ("by_charge_type", "charge_type"))
        }
        return super().from_json({**data, **lines})


def _spend_line(line: SpendLine, key: str) -> dict[str, Json]:
    out: dict[str, Json] = {key: line.key, "amount": str(line.amount)}
    if line.amount_exact is not None:
        out["amount_exact"] = line.amount_exact
    return out


@dataclass(frozen=True)
class Links(Figures):
    sweep: str | None
    best: str | None


@dataclass(frozen=True)
class SignOff(Figures):
    """Who ran the report on what: enough for a reviewer to reproduce it and sign."""

    prepared_by: str
    config_file: str | None
    config_sha256: str | None
    git_commit: str | None
    data_file: str | None
    data_sha256: str | None
    data_rows: int | None
    billing_source: str
    billing_window: str
    run_ids: tuple[str, ...]


@dataclass(frozen=True)
class Provenance(Figures):
    """Where the figures came from: the experiment, the runs, the store, the tool, the config."""

    experiment: str
    experiment_id: str
    sweep_run_id: str | None
    best_run_id: str
    links: Links | None
    tracking_uri: str
    tool: str
    version: str
    generated_at: str
    config: Json
    # For the sign-off page (roi-report/3): what a reviewer needs to reproduce the figures.
    signoff: SignOff | None = None

    def _omitted(self) -> frozenset[str]:
        # The realized report's provenance has no links and no sign-off.
        omitted = {"links"} if self.links is None else set()
        if self.signoff is None:
            omitted.add("signoff")
        return frozenset(omitted)
