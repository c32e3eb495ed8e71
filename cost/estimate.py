"""An honest estimate when there is no bill: trial durations from MLflow times an hourly price.

Each trial run's ``duration_seconds`` (or its start and end times) times the price per
hour of the sweep's instance type and count, the same figure the sweep logged as
``cost_usd_estimated``. Always marked estimated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from cost.periods import bucket, validate_range
from cost.table import SpendFilter, SpendRow, SpendTable, merge_rows
from tracker.errors import UsageError
from tracker.money import estimated_cost
from tracker.record import layout
from tracker.record.reads import RunReader

__all__ = ["SERVICE", "EstimateSource"]

SERVICE = "Amazon SageMaker (training, estimated)"


class EstimateSource:
    """Estimated spend of an experiment's trial runs that carry the filter's tags."""

    name = "estimate"

    def __init__(self, store: RunReader, *, hourly_usd: Decimal, describe_price: str = "") -> None:
        self.store = store
        self.hourly_usd = hourly_usd
        self.describe_price = describe_price

    def fetch(self, spend_filter: SpendFilter) -> SpendTable:
        validate_range(spend_filter.start, spend_filter.end)
        if not spend_filter.experiment:
            raise UsageError("`cost.source` estimate needs `experiment`: the experiment whose trial runs to price")
        experiment_id = self.store.experiment_id(spend_filter.experiment)
        rows: list[SpendRow] = []
        counted = 0
        prices: set[str] = set()
        for parent in self.store.sweep_runs(experiment_id):
            hourly = _price(parent.params.get(layout.PARAM_HOURLY_USD), self.hourly_usd)
            prices.add(str(hourly))
            for run in self.store.trial_runs(experiment_id, parent.run_id):
                if any(run.tags.get(key) != value for key, value in spend_filter.tags):
                    continue
                if run.start_time is None:
                    continue
                day = datetime.fromtimestamp(run.start_time / 1000, tz=UTC).date()
                if spend_filter.start is not None and day < spend_filter.start:
                    continue
                if spend_filter.end is not None and day > spend_filter.end:
                    continue
                seconds = run.metrics.get(layout.METRIC_DURATION)
                if seconds is None:
                    if run.end_time is None:
                        continue
                    seconds = (run.end_time - run.start_time) / 1000
                start, end = bucket(day, spend_filter.granularity, spend_filter.start, spend_filter.end)
                rows.append(SpendRow(start, end, SERVICE, estimated_cost(seconds, hourly), "USD", True))
                counted += 1
        details: tuple[tuple[str, str], ...] = (
            ("basis", "trial durations x hourly price"),
            ("trials", str(counted)),
            ("hourly_usd", ", ".join(sorted(prices)) or str(self.hourly_usd)),
        )
        if self.describe_price:
            details += (("price", self.describe_price),)
        return SpendTable(self.name, spend_filter, merge_rows(rows), (), details)


def _price(logged: str | None, default: Decimal) -> Decimal:
    """The price the sweep itself used, so the estimate matches what it logged."""
    if logged is None:
        return default
    try:
        return Decimal(logged)
    except InvalidOperation:
        return default
