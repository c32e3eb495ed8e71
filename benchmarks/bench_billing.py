"""Tag-filtered spend per service and day from a 10-million-line CUR 2.0 export: this project against plain pandas.

Generates a CUR 2.0 Parquet export (the columns AWS writes, a ``resource_tags`` map, costs
as doubles, credits included), then, each in its own process so peak memory is its own:

* this project: ``BillingFileSource(path).fetch(...)`` (DuckDB reading only the needed
  columns, streaming the sum, exact decimals);
* plain pandas: ``pd.read_parquet(path)`` of the whole file, then filter by tag and date,
  then group by service and day and sum;
* the floor: a bare pyarrow scan of the columns this project reads, batch by batch, with
  no filter and no sum: no reader of these columns can be faster than reading them.

It prints the wall times, the peak resident memories, their ratios, and checks that every
(service, day) total agrees to the cent. Goal: at least 10x faster than pandas, at most a
quarter of its memory; the ratio to the floor says how much of our time is the reading itself.

Run: python benchmarks/bench_billing.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import in_child  # noqa: E402

SERVICES = [
    "AmazonSageMaker",
    "AmazonEC2",
    "AmazonS3",
    "AWSGlue",
    "AmazonCloudWatch",
    "AmazonECR",
    "AWSLambda",
    "AmazonRDS",
    "AmazonDynamoDB",
    "AmazonVPC",
    "AmazonEKS",
    "AmazonAthena",
    "AmazonKinesis",
    "AWSDataTransfer",
    "AmazonSNS",
    "AmazonSQS",
    "AmazonEFS",
    "AmazonRedshift",
    "AWSBackup",
    "AmazonBedrock",
]
START, END = "2026-03-01", "2026-08-31"  # the filter; the export spans the whole year


def generate(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(7)
    year_start = np.datetime64("2026-01-01T00:00:00", "ms")
    writer: pq.ParquetWriter | None = None
    projects = np.array(["churn", "fraud", "search", "ads"])
    teams = np.array(["growth", "risk", "core"])
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        hours = rng.integers(0, 365 * 24, n)
        start = year_start + hours.astype("timedelta64[h]")
        cost = np.round(rng.random(n) * 3.0, 10)
        cost[rng.random(n) < 0.01] *= -1  # credits and refunds
        project = projects[rng.integers(0, len(projects), n)]
        team = teams[rng.integers(0, len(teams), n)]
        keys = np.empty(2 * n, dtype=object)
        keys[0::2], keys[1::2] = "user_project", "user_team"
        values = np.empty(2 * n, dtype=object)
        values[0::2], values[1::2] = project, team
        tags = pa.MapArray.from_arrays(
            pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)),
            pa.array(keys, pa.string()),
            pa.array(values, pa.string()),
        )
        table = pa.table(
            {
                "identity_line_item_id": pa.array([f"li-{offset + i}" for i in range(n)]),
                "bill_invoice_id": pa.array(np.full(n, "INV-2026"), pa.string()),
                "bill_payer_account_id": pa.array(np.full(n, "123456789012"), pa.string()),
                "line_item_usage_account_id": pa.array(np.full(n, "210987654321"), pa.string()),
                "line_item_line_item_type": pa.array(np.where(cost < 0, "Credit", "Usage"), pa.string()),
                "line_item_usage_start_date": pa.array(start, pa.timestamp("ms", tz="UTC")),
                "line_item_usage_end_date": pa.array(start + np.timedelta64(1, "h"), pa.timestamp("ms", tz="UTC")),
                "line_item_product_code": pa.array(np.array(SERVICES)[rng.integers(0, len(SERVICES), n)], pa.string()),
                "line_item_usage_type": pa.array(np.full(n, "USE1-BoxUsage:ml.m5.xlarge"), pa.string()),
                "line_item_operation": pa.array(np.full(n, "RunInstances"), pa.string()),
                "line_item_resource_id": pa.array(
                    [f"arn:aws:sagemaker:us-east-1:210987654321:training-job/job-{i % 5000}" for i in range(n)]
                ),
                "line_item_usage_amount": pa.array(rng.random(n)),
                "line_item_unblended_rate": pa.array(rng.random(n)),
                "line_item_unblended_cost": pa.array(cost),
                "line_item_blended_cost": pa.array(cost),
                "line_item_currency_code": pa.array(np.full(n, "USD"), pa.string()),
                "product_region_code": pa.array(np.full(n, "us-east-1"), pa.string()),
                "resource_tags": tags,
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table, row_group_size=256_000)
    assert writer is not None
    writer.close()


def run_ours(path: str) -> dict[str, str]:
    from datetime import date

    from cost.billing import BillingFileSource
    from cost.table import SpendFilter

    spend = SpendFilter(
        tags=(("project", "churn"),), start=date.fromisoformat(START), end=date.fromisoformat(END), granularity="daily"
    )
    table = BillingFileSource(Path(path)).fetch(spend)
    # Usage and credits are rows of their own; pandas' figure is their sum per service and day.
    sums: dict[str, Decimal] = {}
    for r in table.rows:
        key = f"{r.service}|{r.period_start}"
        sums[key] = sums.get(key, Decimal(0)) + r.amount
    return {key: str(amount) for key, amount in sums.items()}


# The columns BillingFileSource reads of this export (see cost.exports).
OUR_COLUMNS = [
    "line_item_usage_start_date",
    "line_item_product_code",
    "line_item_currency_code",
    "line_item_unblended_cost",
    "resource_tags",
    "bill_invoice_id",
    "line_item_line_item_type",
]


def run_floor(path: str) -> dict[str, str]:
    import pyarrow.dataset as ds

    rows = 0
    for batch in ds.dataset(path, format="parquet").to_batches(columns=OUR_COLUMNS):
        rows += batch.num_rows
    return {"rows": str(rows)}


def run_pandas(path: str) -> dict[str, str]:
    import pandas as pd

    frame = pd.read_parquet(path)
    project = frame["resource_tags"].map(lambda tags: dict(tags).get("user_project"))
    start = frame["line_item_usage_start_date"]
    keep = (
        (project == "churn")
        & (start >= pd.Timestamp(START, tz="UTC"))
        & (start < pd.Timestamp(END, tz="UTC") + pd.Timedelta(days=1))
    )
    chosen = frame.loc[keep]
    sums = chosen.groupby([chosen["line_item_product_code"], chosen["line_item_usage_start_date"].dt.date])[
        "line_item_unblended_cost"
    ].sum()
    return {f"{service}|{day}": repr(float(value)) for (service, day), value in sums.items()}


def _child(call: str) -> tuple[float, int]:
    return in_child("bench_billing", call)


def _measure(side: str, path: Path, out: Path) -> tuple[float, int]:
    return _child(f"json.dump(b.run_{side}({str(path)!r}), open({str(out)!r}, 'w'))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        path = folder / "cur2.parquet"
        took, _ = _child(f"b.generate(b.Path({str(path)!r}), {args.rows})")
        print(f"generated {args.rows:,} CUR 2.0 line items, {path.stat().st_size / 1e6:.0f} MB, in {took:.0f} s")
        ours_time, ours_rss = _measure("ours", path, folder / "ours.json")
        pandas_time, pandas_rss = _measure("pandas", path, folder / "pandas.json")
        floor_time, floor_rss = _measure("floor", path, folder / "floor.json")
        ours = json.loads((folder / "ours.json").read_text())
        theirs = json.loads((folder / "pandas.json").read_text())
    cent = Decimal("0.01")
    mismatched = [
        key
        for key in set(ours) | set(theirs)
        if Decimal(ours.get(key, "0")).quantize(cent, ROUND_HALF_UP)
        != Decimal(theirs.get(key, "0")).quantize(cent, ROUND_HALF_UP)
    ]
    total_ours = sum(Decimal(v) for v in ours.values())
    total_theirs = sum(Decimal(v) for v in theirs.values())
    print(f"filter: project=churn, {START} to {END}, per service per day: {len(ours)} groups")
    print("each side in its own process, wall time including its imports:")
    print(f"this project (DuckDB, exact decimals): {ours_time:7.2f} s, peak {ours_rss / 1e6:8.0f} MB")
    print(f"plain pandas (read_parquet + filter):  {pandas_time:7.2f} s, peak {pandas_rss / 1e6:8.0f} MB")
    print(f"bare pyarrow scan of the same columns:  {floor_time:7.2f} s, peak {floor_rss / 1e6:8.0f} MB (the floor)")
    print(
        f"speed-up: {pandas_time / ours_time:.1f}x (goal >= 10x); memory: {ours_rss / pandas_rss:.3f} of pandas' "
        f"(goal <= 0.25); time against the floor: {ours_time / floor_time:.2f}x"
    )
    print(
        f"totals: {total_ours.quantize(cent)} vs {total_theirs.quantize(cent)} USD; groups differing at the cent: "
        f"{len(mismatched)} of {len(set(ours) | set(theirs))}"
    )
    if mismatched:
        raise SystemExit(f"totals disagree for {sorted(mismatched)[:5]}")


if __name__ == "__main__":
    main()
