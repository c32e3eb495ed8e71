"""Money in: what a project spent, from Cost Explorer, a billing export, or an estimate.

Every source has ``fetch(SpendFilter) -> SpendTable``, and every table has the same
shape: rows of (period start, exclusive period end, service, exact amount, currency,
estimated), plus the source and filter that produced them.
"""

from __future__ import annotations

from typing import Protocol

from cost.table import SpendFilter, SpendRow, SpendTable

__all__ = ["SpendFilter", "SpendRow", "SpendSource", "SpendTable"]


class SpendSource(Protocol):
    """What the ``cost`` command and the report need of a source."""

    name: str

    def fetch(self, spend_filter: SpendFilter) -> SpendTable: ...
