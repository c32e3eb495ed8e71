"""Choosing and running a cost source from validated settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from cost.table import SpendFilter, SpendTable
from tracker.config import Settings
from tracker.errors import UsageError

if TYPE_CHECKING:
    from tracker.record.reads import RunReader

__all__ = ["fetch_spend", "spend_filter"]

DEFAULT_CACHE = Path(".tracker-cache") / "cost-explorer"


def spend_filter(settings: Settings) -> SpendFilter:
    c = settings.cost
    return SpendFilter(
        tags=tuple(sorted(settings.tags.items())),
        start=c.start,
        end=c.end,
        granularity=c.granularity,
        metric=c.metric,
        experiment=settings.experiment,
    )


def fetch_spend(
    settings: Settings, *, refresh: bool = False, check_tags: bool = True, store: RunReader | None = None
) -> SpendTable:
    """The spend the settings describe, from the configured source.

    The estimate reads the runs through ``store`` when one is already open.
    """
    source = settings.cost.source
    spend = spend_filter(settings)
    if source == "explorer":
        from cost.explorer import CostExplorerSource

        cache = settings.cost.cache_dir or DEFAULT_CACHE
        return CostExplorerSource(cache_dir=cache, refresh=refresh, check_tags=check_tags).fetch(spend)
    if source == "billing-file":
        from cost.billing import BillingFileSource

        if settings.cost.file is None:
            raise UsageError(
                "`cost.source` billing-file needs `cost.file` PATH (a CUR 2.0, legacy CUR or FOCUS export)"
            )
        return BillingFileSource(settings.cost.file).fetch(spend)
    from cost.estimate import EstimateSource
    from cost.prices import compute_hourly_price

    compute = settings.compute
    hourly = compute_hourly_price(compute)
    if store is None:
        from tracker.record._client import open_client
        from tracker.record.reads import RunReader

        store = RunReader(open_client(settings.tracking_uri))
    spend = dataclasses.replace(spend, metric="estimate from trial durations")
    return EstimateSource(
        store, hourly_usd=hourly, describe_price=f"{compute.instance_count} x {compute.instance_type}"
    ).fetch(spend)
