"""Reading what a deployed model did: a production log summarised by calendar month (UTC).

One row per prediction: ``timestamp`` (UTC), ``y_score`` or ``y_pred``, ``y_true`` (empty
while the outcome is unknown), optionally ``id`` and ``model_version``. A CSV or Parquet
file, or a folder of them (of one kind). DuckDB streams the files and returns one row per
day and kind of row, summed here into months, so ten million predictions are summarised in
bounded memory.

Checked at the door, each a one-line error naming what to do: scores missing, not finite
(NaN, inf) or outside [0, 1] (``score_scale`` converts percentages and logits); ``id``s
that repeat (``dedupe`` keeps each id's latest row and counts the rest); several
``model_version``s (``model_version`` picks one); a folder with both CSV and Parquet files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from reports import log_sql as sql
from reports.calibration import Platt
from reports.log_sql import UNLABELLED_BINS, ScoreScale
from tracker.errors import TrackerError, UsageError, first_line

__all__ = ["SCORE_SCALES", "UNLABELLED_BINS", "LogOptions", "MonthOutcomes", "Outcomes", "calendar", "read_outcomes"]

SCORE_SCALES: tuple[str, ...] = ("probability", "percent", "logit")


@dataclass(frozen=True)
class LogOptions:
    """How the log is read: its score scale, duplicate ids, which model version."""

    score_scale: ScoreScale = "probability"
    dedupe: bool = False
    model_version: str | None = None


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
    # Predictions per bin of the test set's score (or decision) distribution, for the PSI.
    bins: tuple[int, ...] = ()
    # Classification, every row labelled or not: how many were flagged, the sums of their
    # calibrated scores (flagged, and the rest) and of their squares, for the estimate of the
    # unlabelled rows and the check of how labels arrive.
    flagged: int = 0
    score_flagged: float = 0.0
    score_rest: float = 0.0
    score_squares: float = 0.0
    # The unlabelled rows by calibrated score, in bins of width 1/UNLABELLED_BINS:
    # (flagged, rows, summed score) for each bin that has any.
    unlabelled: tuple[tuple[bool, int, float], ...] = ()
    scored: bool = True  # False for a log of decisions (y_pred) only


@dataclass(frozen=True)
class Outcomes:
    months: tuple[MonthOutcomes, ...]  # the months with predictions inside the window, in order
    outside_window: int
    location: str
    files: int
    first_month: str  # the log's first month, inside the window or not
    duplicates_dropped: int = 0
    versions: tuple[str, ...] = field(default=())


def read_outcomes(
    path: Path,
    *,
    task: str,
    threshold: float | None,
    bin_edges: Sequence[float],
    train_mean: float | None = None,
    start: date | None = None,
    end: date | None = None,
    options: LogOptions | None = None,
    calibration: Platt | None = None,
) -> Outcomes:
    """Monthly summaries of the production log at ``path``; rows outside [start, end] are counted, not used.

    One pass over the files, grouped by UTC day (an integer division, far cheaper than a
    calendar month per row) and by what each row adds up to; the days are summed into
    months here. Faults are counted in the same pass and only then looked up to be shown.
    A classifier's log with ``y_pred`` only is binned on its decisions (``bin_edges`` then
    being the threshold alone).
    """
    import duckdb

    options = options or LogOptions()
    scan, files = sql.scan(path)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        types = sql.columns(con, scan, path)
        rows, latest, versions = sql.source(con, scan, types, path, options)
        dropped = sql.repeats(con, rows, types, path, options)
        con.execute(f"CREATE TEMP VIEW {sql.SOURCE} AS {latest if dropped else rows}")
        con.execute(f"CREATE TEMP VIEW outcome_rows AS {sql.rows_view(types, task, path, options.score_scale)}")
        scored = task != "classification" or "y_score" in types
        decision_threshold = threshold if scored else None
        # A log of decisions is binned on the decision itself: not flagged, flagged.
        bin_edges = bin_edges if scored else [0.5]
        query, parameters = sql.daily_query(
            task, decision_threshold, bin_edges, train_mean, calibration if scored else None
        )
        records = con.execute(query, parameters).fetchall()
        summary = _Summary(task, len(bin_edges) + 1, start, end, scored)
        for record in records:
            summary.add(record)
        _check_rows(con, path, summary, task, options.score_scale)
    except duckdb.IOException as exc:
        raise TrackerError(f"reading {path} failed ({first_line(exc)}); rerun") from exc
    except duckdb.Error as exc:
        raise UsageError(f"`outcomes`: {path}: a value cannot be read ({first_line(exc)})") from exc
    finally:
        con.close()
    if not records:
        raise UsageError(f"`outcomes`: {path} has no rows; it needs one row per prediction")
    if not summary.by_month:
        raise UsageError(
            f"`outcomes`: no prediction in {path} falls between {start or 'the start'} and "
            f"{end or 'the end'} ({summary.outside} outside); widen --start/--end"
        )
    return Outcomes(summary.months(), summary.outside, str(path), files, summary.first_month(), dropped, versions)


def calendar(outcomes: Outcomes) -> list[MonthOutcomes]:
    """The months of ``outcomes``, consecutive by the calendar: a month without predictions is a month with none."""
    by_month = {m.month: m for m in outcomes.months}
    first, last = outcomes.months[0], outcomes.months[-1]
    start = int(first.month[:4]) * 12 + int(first.month[5:7]) - 1  # months since year 0, January = 0
    end = int(last.month[:4]) * 12 + int(last.month[5:7]) - 1
    out = []
    for i in range(end - start + 1):
        year, month = divmod(start + i, 12)
        name = f"{year:04d}-{month + 1:02d}"
        empty = MonthOutcomes(name, 0, 0, bins=(0,) * len(first.bins), scored=first.scored)
        out.append(by_month.get(name, empty))
    return out


_EPOCH = date(1970, 1, 1)


class _Summary:
    """Days summed into months: every figure here is a count or a sum, so it adds up."""

    def __init__(self, task: str, bins: int, start: date | None, end: date | None, scored: bool) -> None:
        self.task, self.bins, self.scored = task, bins, scored
        self.first = (start - _EPOCH).days if start else None
        self.last = (end - _EPOCH).days if end else None
        self.outside = self.invalid = self.bad_truth = 0
        self.faults = {sql.NO_SCORE: 0, sql.NOT_FINITE: 0, sql.OUT_OF_RANGE: 0}
        self.first_day: int | None = None
        self.by_month: dict[str, dict[str, Any]] = {}

    def add(self, record: tuple[Any, ...]) -> None:
        day, bin_, flag, outcome, fault, bad_truth, n = record[:7]
        n = int(n)
        if day is None:
            self.invalid += n
            return
        self.first_day = day if self.first_day is None else min(self.first_day, day)
        if (self.first is not None and day < self.first) or (self.last is not None and day > self.last):
            self.outside += n
            return
        if fault:
            self.faults[fault] += n
            return
        self.bad_truth += n if bad_truth else 0
        when = _EPOCH + timedelta(days=int(day))
        m = self.by_month.setdefault(
            f"{when.year:04d}-{when.month:02d}",
            {"n": 0, "labelled": 0, "tp": 0, "fp": 0, "fn": 0, "tn": 0, "model": 0.0, "base": 0.0}
            | {"bins": [0] * self.bins, "flagged": 0, "s_flagged": 0.0, "s_rest": 0.0, "s_squares": 0.0}
            | {"unlabelled": {}},
        )
        m["n"] += n
        m["bins"][int(bin_)] += n
        if self.task == "classification":
            m["flagged"] += n if flag else 0
            m["s_flagged" if flag else "s_rest"] += float(record[7] or 0.0)
            m["s_squares"] += float(record[8] or 0.0)
            if outcome is None:
                bin_rows, bin_sum = m["unlabelled"].get((bool(flag), record[9]), (0, 0.0))
                m["unlabelled"][(bool(flag), record[9])] = (bin_rows + n, bin_sum + float(record[7] or 0.0))
        if outcome is None or (self.task != "classification" and not outcome):
            return
        m["labelled"] += n
        if self.task == "classification":
            if outcome in (0, 1):  # anything else is not a binary outcome: caught by the check
                m[("tp" if flag else "fn") if outcome == 1 else ("fp" if flag else "tn")] += n
        else:
            m["model"] += float(record[7] or 0.0)
            m["base"] += float(record[8] or 0.0)

    def first_month(self) -> str:
        when = _EPOCH + timedelta(days=int(self.first_day or 0))
        return f"{when.year:04d}-{when.month:02d}"

    def months(self) -> tuple[MonthOutcomes, ...]:
        out = []
        for month, m in sorted(self.by_month.items()):
            month_outcomes = MonthOutcomes(
                month, m["n"], m["labelled"], m["tp"], m["fp"], m["fn"], m["tn"],
                model_abs_error=Decimal(repr(m["model"])), baseline_abs_error=Decimal(repr(m["base"])),
                bins=tuple(m["bins"]), flagged=m["flagged"], score_flagged=m["s_flagged"],
                score_rest=m["s_rest"], score_squares=m["s_squares"],
                unlabelled=tuple((f, rows, total) for (f, _), (rows, total) in sorted(m["unlabelled"].items())),
                scored=self.scored,
            )  # fmt: skip
            out.append(month_outcomes)
        return tuple(out)


def _check_rows(con: Any, path: Path, summary: _Summary, task: str, scale: ScoreScale) -> None:
    """The faults the pass counted, each shown by its first example."""
    if summary.invalid:
        raw = con.execute(
            f"SELECT CAST(timestamp AS VARCHAR) FROM {sql.SOURCE} "
            "WHERE TRY_CAST(timestamp AS TIMESTAMPTZ) IS NULL LIMIT 1"
        ).fetchone()
        raise UsageError(
            f"`outcomes`: {path}: timestamp {raw[0] if raw else None!r} is not a date and time (use ISO 8601, UTC)"
        )
    column = "y_score" if summary.scored and task == "classification" else "y_pred"
    faults = summary.faults
    if faults[sql.NO_SCORE]:
        example = sql.example(con, "score IS NULL")
        raise UsageError(
            f"`outcomes`: {path}: {faults[sql.NO_SCORE]} rows have no {column} (first: {example!r}); "
            "every prediction needs its score"
        )
    if faults[sql.NOT_FINITE]:
        example = sql.example(con, "NOT isfinite(score)")
        raise UsageError(
            f"`outcomes`: {path}: {faults[sql.NOT_FINITE]} rows have a {column} that is not a finite number "
            f"(first: {example!r}); fix or remove them"
        )
    if faults[sql.OUT_OF_RANGE]:
        low, high = con.execute("SELECT min(score), max(score) FROM outcome_rows WHERE isfinite(score)").fetchone()
        if column == "y_pred":
            hint = "a classifier's y_pred is its decision, 0 or 1"
        elif scale == "probability":
            hint = "pass --score-scale percent (0 to 100) or logit (log-odds) if that is what they are"
        else:
            hint = f"they are not {scale}s either"
        raise UsageError(
            f"`outcomes`: {path}: {faults[sql.OUT_OF_RANGE]} {column} values lie outside [0, 1] "
            f"(from {low:g} to {high:g}); {hint}"
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
