"""Billing exports in each format: tags, credits, dates, partitions, currencies."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cost.billing import BillingFileSource
from cost.table import SpendFilter
from tests import billing_files as bf
from tracker.errors import UsageError

CHURN = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 11, 30))


@pytest.fixture(params=["cur2-parquet", "cur2-csv", "legacy-gzip-folder", "focus-csv"])
def export(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    kind = request.param
    if kind == "cur2-parquet":
        return bf.write_cur2_parquet(tmp_path / "cur.parquet"), "CUR 2.0"
    if kind == "cur2-csv":
        return bf.write_cur2_csv(tmp_path / "cur.csv"), "CUR 2.0"
    if kind == "legacy-gzip-folder":
        return bf.write_legacy_partitions(tmp_path / "cur"), "legacy CUR"
    return bf.write_focus_csv(tmp_path / "focus.csv"), "FOCUS 1.x"


def test_each_format_gives_the_same_exact_total(export: tuple[Path, str]) -> None:
    path, fmt = export
    table = BillingFileSource(path).fetch(CHURN)
    assert dict(table.details)["format"] == fmt
    assert table.total == Decimal(bf.CHURN_TOTAL)  # credits count, untagged and other projects do not
    assert table.by_service() == {
        "AmazonSageMaker": Decimal("12.3456789012") + Decimal("7.10") - Decimal("2.50") + Decimal("3.33"),
        "AmazonS3": Decimal("0.0000001"),
    }
    by_period = {start.isoformat(): amount for (start, _end), amount in table.by_period().items()}
    assert by_period == {"2026-10-01": Decimal("16.9456790012"), "2026-11-01": Decimal("3.33")}
    # The November line has no invoice yet: AWS may still change it.
    assert [r.estimated for r in table.rows if r.period_start.month == 11] == [True]
    assert not any(r.estimated for r in table.rows if r.period_start.month == 10)


def test_several_tags_are_combined_with_and(export: tuple[Path, str]) -> None:
    path, _ = export
    both = SpendFilter(tags=(("project", "churn"), ("team", "growth")), start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert BillingFileSource(path).fetch(both).total == Decimal(bf.CHURN_AND_GROWTH_TOTAL)


def test_daily_periods_end_exclusive(tmp_path: Path) -> None:
    path = bf.write_cur2_parquet(tmp_path / "cur.parquet")
    daily = SpendFilter(
        tags=(("project", "churn"),), start=date(2026, 10, 1), end=date(2026, 10, 2), granularity="daily"
    )
    table = BillingFileSource(path).fetch(daily)
    assert [(r.period_start, r.period_end, r.amount) for r in table.rows] == [
        (date(2026, 10, 1), date(2026, 10, 2), Decimal("0.0000001")),
        (date(2026, 10, 1), date(2026, 10, 2), Decimal("12.3456789012")),
        (date(2026, 10, 2), date(2026, 10, 3), Decimal("7.1")),
    ]


def test_monthly_periods_are_clipped_to_the_range(tmp_path: Path) -> None:
    path = bf.write_cur2_parquet(tmp_path / "cur.parquet")
    mid = SpendFilter(tags=(("project", "churn"),), start=date(2026, 10, 2), end=date(2026, 10, 20))
    table = BillingFileSource(path).fetch(mid)
    assert {(r.period_start, r.period_end) for r in table.rows} == {(date(2026, 10, 2), date(2026, 10, 21))}
    assert table.total == Decimal("4.60")


def test_two_currencies_must_be_chosen_between(tmp_path: Path) -> None:
    path = bf.write_focus_csv(tmp_path / "focus.csv", [*bf.LINES, bf.EUR_LINE])
    table = BillingFileSource(path).fetch(CHURN)
    with pytest.raises(UsageError, match=r"the spend is in 2 currencies \(EUR, USD\); choose one with `currency`"):
        _ = table.total
    assert table.only_currency("EUR").total == Decimal("4.00")
    assert table.only_currency("USD").total == Decimal(bf.CHURN_TOTAL)


def test_a_file_that_is_not_a_billing_export(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text("region,revenue\nnorth,10\n")
    with pytest.raises(
        UsageError, match=r"the file is not a billing export: expected CUR 2.0 .*found: region, revenue"
    ):
        BillingFileSource(path).fetch(CHURN)


def test_metric_not_in_the_export(tmp_path: Path) -> None:
    path = bf.write_focus_csv(tmp_path / "focus.csv")
    blended = SpendFilter(tags=CHURN.tags, start=CHURN.start, end=CHURN.end, metric="BlendedCost")
    with pytest.raises(
        UsageError,
        match=r"`cost.metric` BlendedCost is not in this FOCUS 1\.x export; allowed here: UnblendedCost, AmortizedCost",
    ):
        BillingFileSource(path).fetch(blended)
    amortized = SpendFilter(tags=CHURN.tags, start=CHURN.start, end=CHURN.end, metric="AmortizedCost")
    table = BillingFileSource(path).fetch(amortized)
    assert dict(table.details)["column"] == "EffectiveCost"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        BillingFileSource(tmp_path / "nope.parquet").fetch(CHURN)
