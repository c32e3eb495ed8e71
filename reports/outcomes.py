"""Reading what a deployed model did: a production log summarised by calendar month (UTC).

One row per prediction: ``timestamp`` (UTC), ``y_score`` or ``y_pred``, ``y_true`` (empty
while the outcome is unknown), optionally ``id`` and ``model_version``. A CSV or Parquet
file, or a folder of them. DuckDB streams the files and returns one row per month, so
ten million predictions are summarised in bounded memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cost.exports import literal
from tracker.errors import TrackerError, UsageError, first_line

__all__ = ["MonthOutcomes", "Outcomes", "read_outcomes"]


@dataclass(frozen=True)
class MonthOutcomes:
    """One calendar month of production: volume, labels, decisions and the score distribution."""

    month: str  # YYYY-MM
    predictions: int
    labelled: int
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    # Regression, on the labelled rows: summed absolute errors of the model and of the no-model mean.
    model_abs_error: Decimal = Decimal(0)
    baseline_abs_error: Decimal = Decimal(0)
    # Predictions per bin of the test set's score (or prediction) distribution, for the PSI.
    bins: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outcomes:
    months: tuple[MonthOutcomes, ...]
    outside_window: int
    location: str
    files: int


def _scan(path: Path) -> tuple[str, int]:
    """The DuckDB table expression of the file or folder, and how many files it reads."""
    if not path.exists():
        raise UsageError(f"`outcomes`: {path} does not exist")
    if path.is_dir():
        parquet = sorted(str(p) for p in path.rglob("*.parquet"))
        csv = sorted(str(p) for p in path.rglob("*") if p.name.endswith((".csv", ".csv.gz")))
        files = parquet or csv
        if not files:
            raise UsageError(f"`outcomes`: no .parquet, .csv or .csv.gz files under {path}")
        parquet_files = bool(parquet)
    else:
        files = [str(path)]
        parquet_files = path.name.endswith(".parquet")
    listing = "[" + ", ".join(literal(f) for f in files) + "]"
    if parquet_files:
        return f"read_parquet({listing}, union_by_name=true)", len(files)
    return f"read_csv({listing}, all_varchar=true, header=true, union_by_name=true)", len(files)


def read_outcomes(
    path: Path,
    *,
    task: str,
    threshold: float | None,
    bin_edges: Sequence[float],
    train_mean: float | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Outcomes:
    """Monthly summaries of the production log at ``path``; rows outside [start, end] are counted, not used.

    One pass over the files, grouped by UTC day (an integer division, far cheaper than a
    calendar month per row) and by what each row adds up to; the days are summed into
    months here. Faults are counted in the same pass and only then looked up to be shown.
    """
    import duckdb

    scan, files = _scan(path)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        types = _columns(con, scan, path)
        con.execute(f"CREATE TEMP VIEW {_SOURCE} AS SELECT * FROM {scan}")
        con.execute(f"CREATE TEMP VIEW outcome_rows AS {_rows_view(types, task, path)}")
        query, parameters = _daily_query(task, threshold, bin_edges, train_mean)
        records = con.execute(query, parameters).fetchall()
        summary = _Summary(task, len(bin_edges) + 1, start, end)
        for record in records:
            summary.add(record)
        _check_rows(con, path, summary)
    except duckdb.IOException as exc:
        raise TrackerError(f"reading {path} failed ({first_line(exc)}); rerun") from exc
    except duckdb.Error as exc:
        raise UsageError(f"`outcomes`: {path}: a value cannot be read ({first_line(exc)})") from exc
    finally:
        con.close()
    if not records:
        raise UsageError(f"`outcomes`: {path} has no rows; it needs one row per prediction")
    return Outcomes(summary.months(), summary.outside, str(path), files)


_EPOCH = date(1970, 1, 1)
_DAY_US = 86_400_000_000


class _Summary:
    """Days summed into months: every figure here is a count or a sum, so it adds up."""

    def __init__(self, task: str, bins: int, start: date | None, end: date | None) -> None:
        self.task, self.bins = task, bins
        self.first = (start - _EPOCH).days if start else None
        self.last = (end - _EPOCH).days if end else None
        self.outside = self.invalid = self.bad_truth = self.no_score = 0
        self.by_month: dict[str, dict[str, Any]] = {}

    def add(self, record: tuple[Any, ...]) -> None:
        day, bin_, flag, outcome, no_score, bad_truth, n = record[:7]
        n = int(n)
        if day is None:
            self.invalid += n
            return
        if (self.first is not None and day < self.first) or (self.last is not None and day > self.last):
            self.outside += n
            return
        self.no_score += n if no_score else 0
        self.bad_truth += n if bad_truth else 0
        when = _EPOCH + timedelta(days=int(day))
        m = self.by_month.setdefault(
            f"{when.year:04d}-{when.month:02d}",
            {"n": 0, "labelled": 0, "tp": 0, "fp": 0, "fn": 0, "tn": 0, "model": 0.0, "base": 0.0}
            | {"bins": [0] * self.bins},
        )
        m["n"] += n
        m["bins"][int(bin_)] += n
        if outcome is None or (self.task != "classification" and not outcome):
            return
        m["labelled"] += n
        if self.task == "classification":
            if outcome in (0, 1):  # anything else is not a binary outcome: caught by the check
                m[("tp" if flag else "fn") if outcome == 1 else ("fp" if flag else "tn")] += n
        else:
            m["model"] += float(record[7] or 0.0)
            m["base"] += float(record[8] or 0.0)

    def months(self) -> tuple[MonthOutcomes, ...]:
        out = []
        for month, m in sorted(self.by_month.items()):
            month_outcomes = MonthOutcomes(
                month, m["n"], m["labelled"], m["tp"], m["fp"], m["fn"], m["tn"],
                model_abs_error=Decimal(repr(m["model"])), baseline_abs_error=Decimal(repr(m["base"])),
                bins=tuple(m["bins"]),
            )  # fmt: skip
            out.append(month_outcomes)
        return tuple(out)


_SOURCE = "outcome_source"


def _columns(con: Any, scan: str, path: Path) -> dict[str, str]:
    import duckdb

    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except duckdb.Error as exc:
        raise UsageError(f"`outcomes`: {path} is not a readable CSV or Parquet file ({first_line(exc)})") from exc
    return {str(row[0]): str(row[1]) for row in described}


def _rows_view(types: dict[str, str], task: str, path: Path) -> str:
    """SELECT of the typed columns: ts, score (or prediction), truth (NULL while unknown), and the raw text
    of a text column, so a fault can be shown. Typed (Parquet) columns are used as they are."""
    columns = set(types)
    needed = {"timestamp", "y_true"} | ({"y_pred"} if task == "regression" else set())
    if task == "classification" and not {"y_score", "y_pred"} & columns:
        needed.add("y_score")
    missing = sorted(needed - columns)
    if missing:
        shown = ", ".join(sorted(columns)[:12])
        raise UsageError(
            f"`outcomes`: {path} has no column {missing[0]!r} (columns: {shown}); it needs timestamp, "
            "y_score or y_pred, and y_true"
        )

    def text(column: str) -> bool:
        return types[column].upper().startswith("VARCHAR")

    def number(column: str) -> str:
        if text(column):
            return f"TRY_CAST(NULLIF(TRIM({column}), '') AS DOUBLE)"
        return f"CAST({column} AS DOUBLE)"

    score = number("y_score" if "y_score" in columns else "y_pred")
    ts = "TRY_CAST(timestamp AS TIMESTAMPTZ)" if text("timestamp") else "CAST(timestamp AS TIMESTAMPTZ)"
    raw_truth = "NULLIF(TRIM(y_true), '')" if text("y_true") else "NULL"
    return f"SELECT {ts} AS ts, {score} AS score, {number('y_true')} AS truth, {raw_truth} AS raw_truth FROM {_SOURCE}"


def _check_rows(con: Any, path: Path, summary: _Summary) -> None:
    """The faults the pass counted, each shown by its first example."""
    if summary.invalid:
        raw = con.execute(
            f"SELECT CAST(timestamp AS VARCHAR) FROM {_SOURCE} WHERE TRY_CAST(timestamp AS TIMESTAMPTZ) IS NULL LIMIT 1"
        ).fetchone()
        raise UsageError(
            f"`outcomes`: {path}: timestamp {raw[0] if raw else None!r} is not a date and time (use ISO 8601, UTC)"
        )
    if summary.bad_truth:
        found = con.execute(
            "SELECT raw_truth FROM outcome_rows WHERE truth IS NULL AND raw_truth IS NOT NULL LIMIT 1"
        ).fetchone()
        raise UsageError(f"`outcomes`: {path}: y_true {found[0] if found else None!r} is not a number (0/1, or empty)")
    if summary.task == "classification":
        for m in summary.by_month.values():
            if m["labelled"] != m["tp"] + m["fp"] + m["fn"] + m["tn"]:
                raise UsageError(f"`outcomes`: {path}: y_true must be 0 or 1 (or empty while unknown)")
    if summary.no_score:
        raise UsageError(f"`outcomes`: {path}: {summary.no_score} rows have no score or prediction")


def _daily_query(
    task: str, threshold: float | None, edges: Sequence[float], train_mean: float | None
) -> tuple[str, list[Any]]:
    """Counts by UTC day, PSI bin, decision and outcome (and the faults); every number a bound parameter.

    The columns: day, bin, flag, truth, no_score, bad_truth, count, then, for a regression,
    the summed absolute errors of the model and of the no-model mean (NULL while unknown).
    """
    parameters: list[Any] = [float(edge) for edge in edges]
    bin_case = "CASE " + " ".join(f"WHEN score < ? THEN {i}" for i in range(len(edges))) + f" ELSE {len(edges)} END"
    if task == "classification":
        parameters.append(float(threshold if threshold is not None else 0.5))
        decided, truth, errors, sums = "score >= ?", "truth", "", ""
    else:
        parameters.append(float(train_mean or 0.0))
        decided, truth = "NULL", "CAST(truth IS NOT NULL AS INTEGER)"
        errors = ", abs(truth - score) AS model_error, abs(truth - ?) AS baseline_error"
        sums = ", sum(model_error), sum(baseline_error)"
    inner = (
        f"SELECT epoch_us(ts) // {_DAY_US} AS day, {bin_case} AS bin, {decided} AS flag, {truth} AS outcome, "
        f"score IS NULL AS no_score, truth IS NULL AND raw_truth IS NOT NULL AS bad_truth{errors} FROM outcome_rows"
    )
    query = (
        f"SELECT day, bin, flag, outcome, no_score, bad_truth, count(*){sums} FROM ({inner}) "
        "GROUP BY day, bin, flag, outcome, no_score, bad_truth"
    )
    return query, parameters
