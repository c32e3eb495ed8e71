"""Money, exact: the one place that rounds, splits and writes amounts as text.

Amounts are ``Decimal`` from the source to the page. ``exact_text`` keeps every digit
(the JSON and CSV of a spend table); ``cents`` rounds half up for a report; nothing here
goes through a float.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "CENT",
    "ONE",
    "RATIO",
    "ZERO",
    "cents",
    "cents_text",
    "estimated_cost",
    "exact_text",
    "grouped",
    "split_by_weight",
]

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
# Ratios (a probability, a rate, ROI as a fraction) are stated to four places.
RATIO = Decimal("0.0001")
# Per-trial estimates are kept to a millionth of a dollar: a short trial costs fractions of a cent.
MICRO = Decimal("0.000001")


def exact_text(value: Decimal) -> str:
    """An exact decimal string: no exponent, no trailing zeros, no float on the way."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def cents(value: Decimal) -> Decimal:
    """Rounded half up to the cent; never ``-0.00`` on a page."""
    rounded = value.quantize(CENT, ROUND_HALF_UP)
    return rounded.copy_abs() if rounded == 0 else rounded


def cents_text(value: Decimal | None) -> str | None:
    """``cents`` as a string, for a report's JSON; ``None`` stays ``None`` (undefined)."""
    return None if value is None else str(cents(value))


def grouped(value: Decimal, places: int = 2) -> str:
    """As finance prints an amount: thousands separators, ``places`` decimals, half up, no ``-0``.

    ``grouped(Decimal("-19426.2"))`` is ``-19,426.20``; ``places=0`` gives whole units.
    """
    rounded = value.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    if rounded == 0:
        rounded = rounded.copy_abs()
    return f"{rounded:,.{places}f}"


def estimated_cost(seconds: float | Decimal, hourly: Decimal) -> Decimal:
    """Hours times the price per hour (already times the instance count), to a millionth."""
    exact_seconds = seconds if isinstance(seconds, Decimal) else Decimal(str(round(seconds, 6)))
    return (exact_seconds * hourly / Decimal(3600)).quantize(MICRO, ROUND_HALF_UP)


def split_by_weight(total: Decimal, weights: list[Decimal], quantum: Decimal = CENT) -> list[Decimal]:
    """Split ``total`` (rounded to ``quantum``) in proportion to ``weights``; the parts sum to it exactly.

    Largest-remainder method: each part is rounded down to the quantum, and the quanta
    left over go to the parts with the largest remainders (ties to the earlier part).
    """
    if not weights:
        return []
    target = total.quantize(quantum, ROUND_HALF_UP)
    weight_sum = sum(weights, Decimal(0))
    if weight_sum <= 0:
        weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    units = int(target / quantum)
    raw = [Decimal(units) * w / weight_sum for w in weights]
    floors = [int(r.to_integral_value(rounding="ROUND_FLOOR")) for r in raw]
    left = units - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[: abs(left)]:
        floors[i] += 1 if left > 0 else -1
    return [Decimal(f) * quantum for f in floors]
