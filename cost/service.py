"""Choosing and running a cost source: what the spend filter asks, from the source the config names."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from cost.table import SpendFilter, SpendTable
from tracker.errors import UsageError

if TYPE_CHECKING:
    from mypy_boto3_ce import CostExplorerClient

    from tracker.config import ComputeConfig, CostConfig, Settings
    from tracker.record.reads import RunReader

__all__ = ["Estimating", "fetch_spend", "spend_filter", "spend_for"]

DEFAULT_CACHE = Path(".tracker-cache") / "cost-explorer"
# A window of days, both ends inclusive; None at an end leaves that end open.
Window = tuple[date | None, date | None]


@dataclasses.dataclass(frozen=True)
class Estimating:
    """What an estimate from compute time needs: the runs to price and the price of an hour."""

    runs: RunReader
    compute: ComputeConfig


def spend_filter(
    settings: Settings,
    *,
    tags: Mapping[str, str] | None = None,
    window: Window | None = None,
    granularity: str | None = None,
) -> SpendFilter:
    """The spend the settings describe: their tags and ``cost`` window, or the ``tags``/``window`` given."""
    c = settings.cost
    start, end = window if window is not None else (c.start, c.end)
    return SpendFilter(
        tags=tuple(sorted((tags if tags is not None else settings.tags).items())),
        start=start,
        end=end,
        granularity=granularity or c.granularity,
        metric=c.metric,
        experiment=settings.experiment,
    )


def fetch_spend(
    cost: CostConfig,
    spend_filter: SpendFilter,
    window: Window | None = None,
    *,
    client: CostExplorerClient | None = None,
    estimating: Estimating | None = None,
    refresh: bool = False,
    check_tags: bool = True,
) -> SpendTable:
    """The spend ``spend_filter`` selects (over ``window`` when given), from the source ``cost`` names.

    ``client`` is the Cost Explorer client to use (a stubbed one in tests); ``estimating``
    is what ``cost.source: estimate`` prices: the runs, and the compute they ran on.
    """
    if window is not None:
        spend_filter = dataclasses.replace(spend_filter, start=window[0], end=window[1])
    if cost.source == "explorer":
        from cost.explorer import CostExplorerSource

        cache = cost.cache_dir or DEFAULT_CACHE
        return CostExplorerSource(client, cache_dir=cache, refresh=refresh, check_tags=check_tags).fetch(spend_filter)
    if cost.source == "billing-file":
        from cost.billing import BillingFileSource

        if cost.file is None:
            raise UsageError(
                "`cost.source` billing-file needs `cost.file` PATH (a CUR 2.0, legacy CUR or FOCUS export)"
            )
        return BillingFileSource(cost.file).fetch(spend_filter)
    if estimating is None:
        raise UsageError("`cost.source` estimate needs the MLflow runs to price and the compute they ran on")
    from cost.estimate import EstimateSource
    from cost.prices import compute_hourly_price

    compute = estimating.compute
    spend_filter = dataclasses.replace(spend_filter, metric="estimate from trial durations")
    return EstimateSource(
        estimating.runs,
        hourly_usd=compute_hourly_price(compute),
        describe_price=f"{compute.instance_count} x {compute.instance_type}",
    ).fetch(spend_filter)


def spend_for(
    settings: Settings,
    selected: SpendFilter | None = None,
    *,
    runs: RunReader | None = None,
    refresh: bool = False,
    check_tags: bool = True,
) -> SpendTable:
    """:func:`fetch_spend` with everything from the settings: their filter unless ``selected``
    is given, and for an estimate their compute and their store (``runs`` when already open)."""
    estimating = None
    if settings.cost.source == "estimate":
        if runs is None:
            from tracker.record._client import open_client
            from tracker.record.reads import RunReader

            runs = RunReader(open_client(settings.tracking_uri, create=False))
        estimating = Estimating(runs, settings.compute)
    chosen = selected if selected is not None else spend_filter(settings)
    return fetch_spend(settings.cost, chosen, estimating=estimating, refresh=refresh, check_tags=check_tags)
