"""Periods as Cost Explorer defines them: days, or calendar months clipped to the range."""

from __future__ import annotations

from datetime import date, timedelta

from tracker.errors import UsageError

__all__ = ["bucket", "exclusive_end", "month_start", "next_month", "validate_range"]


def exclusive_end(end: date) -> date:
    """Users give an inclusive last day; AWS wants the day after it."""
    return end + timedelta(days=1)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def validate_range(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise UsageError(
            f"`cost.end` {end} is before `cost.start` {start}; the end date is inclusive and must not precede the start"
        )


def bucket(day: date, granularity: str, start: date | None, end: date | None) -> tuple[date, date]:
    """The (start, exclusive end) of the period that holds ``day``."""
    if granularity == "daily":
        return day, day + timedelta(days=1)
    first = month_start(day)
    after = next_month(day)
    if start is not None and first < start:
        first = start
    if end is not None and after > exclusive_end(end):
        after = exclusive_end(end)
    return first, after
