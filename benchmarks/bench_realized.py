"""A year of production predictions summarised by month: this project against plain pandas.

Generates a Parquet production log of 10 million predictions over 12 months (timestamp,
id, model_version, y_score, y_true with a fifth of the outcomes still unknown), then, each
in its own process so peak memory is its own:

* this project: ``reports.outcomes.read_outcomes`` (DuckDB streaming the files: the
  checks at the door, repeated ids and model versions included; per month the predictions,
  the labelled ones, the confusion counts at a threshold, the score histogram for the PSI,
  and what the estimate of the unlabelled rows needs: the flagged count, the score sums and
  the unlabelled rows' scores in 50 bins), then the expected outcomes of every month;
* plain pandas: ``pd.read_parquet`` of the whole log, the same checks, the same figures with
  group-bys per month, then the same expected outcomes.

It prints the wall times (imports included), the peak resident memories and their ratios,
and checks that every month's figures agree exactly. Goal: at least 10x faster than pandas,
in bounded memory.

Run: python benchmarks/bench_realized.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from measure import in_child  # noqa: E402

THRESHOLD = 0.3
EDGES = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75]


def generate(path: Path, rows: int, chunk: int = 1_000_000) -> None:
    """``rows`` predictions spread over 2027, written in chunks so the generator stays small."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(10)
    start = np.datetime64("2027-01-01T00:00:00", "s").astype(np.int64)
    year = 365 * 24 * 3600
    writer = None
    try:
        for first in range(0, rows, chunk):
            n = min(chunk, rows - first)
            stamps = np.sort(rng.integers(start, start + year, n)).astype("datetime64[s]")
            truth = (rng.random(n) < 0.1).astype(float)
            scores = np.clip(rng.normal(0.2 + 0.3 * truth, 0.15), 0, 1)
            truth[rng.random(n) < 0.2] = np.nan  # outcomes not known yet
            table = pa.table(
                {
                    "timestamp": pa.array(stamps, pa.timestamp("s", tz="UTC")),
                    "id": pa.array(np.arange(first, first + n).astype(str)),
                    "model_version": pa.array(np.full(n, "3")),
                    "y_score": pa.array(scores),
                    "y_true": pa.array(truth, from_pandas=True),
                }
            )
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


# The test set the estimates fall back on for a log of decisions; unused here (the log has scores).
TEST = (300, 200, 100, 1400)


def _figures(month: object) -> list[float]:
    """A month's counts, and its expected outcomes to a thousandth of a case (float sums differ in order)."""
    from reports.estimation import expected_outcomes
    from tracker.value import Confusion

    m = month  # a MonthOutcomes
    e = expected_outcomes(Confusion(*TEST), m)  # type: ignore[arg-type]
    counts = [m.predictions, m.labelled, m.tp, m.fp, m.fn, m.tn, *m.bins, m.flagged]  # type: ignore[attr-defined]
    return counts + [round(float(x), 3) for x in (e.tp, e.fp, e.fn, e.tn)]


def run_ours(path: str) -> dict[str, list[float]]:
    from reports.outcomes import read_outcomes

    outcomes = read_outcomes(Path(path), task="classification", threshold=THRESHOLD, bin_edges=EDGES)
    return {m.month: _figures(m) for m in outcomes.months}


def run_pandas(path: str) -> dict[str, list[float]]:
    import numpy as np
    import pandas as pd

    from reports.outcomes import UNLABELLED_BINS, MonthOutcomes

    frame = pd.read_parquet(path)
    # The same checks at the door: scores finite and in [0, 1], no repeated id, one model version.
    scores = frame["y_score"]
    if scores.isna().any() or not np.isfinite(scores).all() or ((scores < 0) | (scores > 1)).any():
        raise SystemExit("a bad score")
    if frame["id"].duplicated().any() or frame["model_version"].nunique() > 1:
        raise SystemExit("a repeated id, or several versions")
    frame["month"] = frame["timestamp"].dt.strftime("%Y-%m")
    flag = scores >= THRESHOLD
    truth = frame["y_true"]
    frame["flagged"] = flag
    frame["tp"] = flag & (truth == 1)
    frame["fp"] = flag & (truth == 0)
    frame["fn"] = ~flag & (truth == 1)
    frame["tn"] = ~flag & (truth == 0)
    frame["labelled"] = truth.notna()
    frame["bin"] = np.searchsorted(np.asarray(EDGES), scores.to_numpy(), side="right")
    frame["s_flagged"] = scores.where(flag, 0.0)
    frame["s_rest"] = scores.where(~flag, 0.0)
    frame["s_squares"] = scores * scores
    grouped = frame.groupby("month")
    sums = grouped[["labelled", "tp", "fp", "fn", "tn", "flagged", "s_flagged", "s_rest", "s_squares"]].sum()
    bins = frame.groupby(["month", "bin"]).size().unstack(fill_value=0).reindex(columns=range(len(EDGES) + 1))
    unknown = frame[truth.isna()].assign(fine=lambda f: np.minimum(f["y_score"] * UNLABELLED_BINS // 1, 49))
    fine = unknown.groupby(["month", "flagged", "fine"])["y_score"].agg(["size", "sum"])
    out = {}
    for month, row in sums.iterrows():
        unlabelled = tuple((bool(f), int(r["size"]), float(r["sum"])) for (_, f, _), r in fine.loc[[month]].iterrows())
        m = MonthOutcomes(
            str(month), int(grouped.size()[month]), int(row["labelled"]), int(row["tp"]), int(row["fp"]),
            int(row["fn"]), int(row["tn"]), bins=tuple(int(v) for v in bins.loc[month].fillna(0)),
            flagged=int(row["flagged"]), score_flagged=float(row["s_flagged"]), score_rest=float(row["s_rest"]),
            score_squares=float(row["s_squares"]), unlabelled=unlabelled,
        )  # fmt: skip
        out[str(month)] = _figures(m)
    return out


def _child(call: str) -> tuple[float, int]:
    return in_child("bench_realized", call)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        path = folder / "production.parquet"
        took, _ = _child(f"b.generate(b.Path({str(path)!r}), {args.rows})")
        print(
            f"generated {args.rows:,} predictions over 12 months, {path.stat().st_size / 1e6:.0f} MB, in {took:.0f} s"
        )
        timings = {}
        for side in ("ours", "pandas"):
            out = folder / f"{side}.json"
            timings[side] = _child(f"json.dump(b.run_{side}({str(path)!r}), open({str(out)!r}, 'w'))")
        ours = json.loads((folder / "ours.json").read_text())
        theirs = json.loads((folder / "pandas.json").read_text())
    (ours_time, ours_rss), (pandas_time, pandas_rss) = timings["ours"], timings["pandas"]
    print("each side in its own process, wall time including its imports:")
    print(f"this project (DuckDB, streamed):      {ours_time:7.2f} s, peak {ours_rss / 1e6:8.0f} MB")
    print(f"plain pandas (read_parquet + groupby): {pandas_time:7.2f} s, peak {pandas_rss / 1e6:8.0f} MB")
    print(f"speed-up: {pandas_time / ours_time:.1f}x (goal >= 10x); memory: {ours_rss / pandas_rss:.3f} of pandas'")
    agree = ours == theirs
    print(f"months: {len(ours)}; every month's figures agree: {agree}")
    if not agree:
        raise SystemExit("the two summaries disagree")


if __name__ == "__main__":
    main()
