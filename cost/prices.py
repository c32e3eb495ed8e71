"""Hourly prices of common SageMaker training instances, for estimated cost.

The bundled table (``cost/data/sagemaker_training_prices.csv``) holds on-demand
SageMaker *training* prices in USD per instance-hour for the US East (N. Virginia)
region, as listed by AWS on the date below. Prices differ by region and change over
time: override them in the config (``compute.prices`` or ``compute.hourly_usd``).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from importlib.resources import files

from tracker.config import ComputeConfig
from tracker.errors import ConfigError

__all__ = ["PRICE_TABLE_DATE", "PRICE_TABLE_REGION", "compute_hourly_price", "hourly_price", "price_table"]

PRICE_TABLE_DATE = "2025-06-01"
PRICE_TABLE_REGION = "us-east-1"


@cache
def price_table() -> dict[str, Decimal]:
    """The bundled table: instance type -> USD per hour, exact."""
    text = files("cost").joinpath("data/sagemaker_training_prices.csv").read_text(encoding="utf-8")
    return {row["instance_type"]: Decimal(row["hourly_usd"]) for row in csv.DictReader(text.splitlines())}


def hourly_price(
    instance_type: str,
    *,
    instance_count: int = 1,
    hourly_usd: Decimal | None = None,
    overrides: Mapping[str, Decimal] | None = None,
) -> Decimal:
    """USD per hour of a trial: the instance's price (or ``hourly_usd``) times the count."""
    if hourly_usd is not None:
        return hourly_usd * instance_count
    table = {**price_table(), **(overrides or {})}
    price = table.get(instance_type)
    if price is None:
        import difflib

        close = difflib.get_close_matches(instance_type, list(table), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise ConfigError(
            f"compute.instance_type: no price for {instance_type!r}; {hint}the {len(table)} known types are in "
            "cost/data/sagemaker_training_prices.csv (docs: Costs); or set compute.hourly_usd or compute.prices"
        )
    return price * instance_count


def compute_hourly_price(compute: ComputeConfig) -> Decimal:
    """USD per trial-hour for the config's ``compute`` section."""
    return hourly_price(
        compute.instance_type,
        instance_count=compute.instance_count,
        hourly_usd=compute.hourly_usd,
        overrides=compute.prices,
    )
