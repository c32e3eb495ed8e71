"""Money properties: splits that add up, exact text that survives JSON, one rounding rule."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cost.table import SpendFilter, SpendRow, SpendTable
from tracker.money import CENT, cents, exact_text, split_by_weight

amounts = st.decimals(min_value=-(10**9), max_value=10**9, places=12, allow_nan=False, allow_infinity=False)


@given(
    total=st.decimals(min_value=0, max_value=10**7, places=4, allow_nan=False, allow_infinity=False),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**5, places=3, allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=50,
    ),
)
def test_split_by_weight_adds_up_to_the_cent_and_is_never_negative(total: Decimal, weights: list[Decimal]) -> None:
    parts = split_by_weight(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts, Decimal(0)) == cents(total)
    assert all(part >= 0 for part in parts)
    assert all(part == part.quantize(CENT) for part in parts)


@given(value=amounts)
def test_exact_text_round_trips_through_json(value: Decimal) -> None:
    text = json.loads(json.dumps({"amount": exact_text(value)}))["amount"]
    assert Decimal(text) == value
    assert "E" not in text and "e" not in text


@given(rows=st.lists(amounts, min_size=1, max_size=20))
def test_a_spend_table_total_survives_its_json(rows: list[Decimal]) -> None:
    from datetime import date

    spend = SpendTable(
        "billing-file",
        SpendFilter(tags=(), start=None, end=None),
        tuple(SpendRow(date(2026, 10, 1), date(2026, 11, 1), f"s{i}", a, "USD", False) for i, a in enumerate(rows)),
    )
    payload = json.loads(json.dumps(spend.to_json()))
    assert Decimal(payload["total"]) == sum(rows, Decimal(0))
    assert sum((Decimal(r["amount"]) for r in payload["rows"]), Decimal(0)) == Decimal(payload["total"])


def test_cents_rounds_half_up_and_never_shows_negative_zero() -> None:
    assert cents(Decimal("0.005")) == Decimal("0.01")
    assert cents(Decimal("-0.005")) == Decimal("-0.01")
    assert str(cents(Decimal("-0.004"))) == "0.00"
