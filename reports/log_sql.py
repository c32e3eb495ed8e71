"""The production log's SQL (DuckDB): which files, which rows, and the one pass that counts them.

Every number is a bound parameter; every name a literal quoted by :func:`cost.exports.literal`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cost.exports import literal
from reports.calibration import EDGE, Platt
from tracker.errors import UsageError, first_line

if TYPE_CHECKING:
    from reports.outcomes import LogOptions

ScoreScale = Literal["probability", "percent", "logit"]

# The unlabelled rows' calibrated scores are kept in this many bins of equal width (see reports.estimation).
UNLABELLED_BINS = 50
# What a row's fault is, in the daily pass: none, no score, not finite, outside the score scale.
FINE, NO_SCORE, NOT_FINITE, OUT_OF_RANGE = 0, 1, 2, 3
DAY_US = 86_400_000_000


def scan(path: Path) -> tuple[str, int]:
    """The DuckDB table expression of the file or folder, and how many files it reads."""
    if not path.exists():
        raise UsageError(f"`outcomes`: {path} does not exist")
    if path.is_dir():
        parquet = sorted(str(p) for p in path.rglob("*.parquet"))
        csv = sorted(str(p) for p in path.rglob("*") if p.name.endswith((".csv", ".csv.gz")))
        if parquet and csv:
            raise UsageError(
                f"`outcomes`: {path} holds {len(csv)} CSV and {len(parquet)} Parquet files; "
                "keep one kind in the folder (or pass each file on its own), so that no prediction is left out"
            )
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


SOURCE = "outcome_source"


def columns(con: Any, scan: str, path: Path) -> dict[str, str]:
    import duckdb

    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    except duckdb.Error as exc:
        raise UsageError(f"`outcomes`: {path} is not a readable CSV or Parquet file ({first_line(exc)})") from exc
    return {str(row[0]): str(row[1]) for row in described}


def source(
    con: Any, scan: str, types: dict[str, str], path: Path, options: LogOptions
) -> tuple[str, str, tuple[str, ...]]:
    """The rows to read: one model version's, or the only version's; and the same with each id's latest row."""
    where, versions = "", tuple[str, ...]()
    if "model_version" in types:
        found = con.execute(
            f"SELECT DISTINCT CAST(model_version AS VARCHAR) AS v FROM {scan} ORDER BY v NULLS FIRST LIMIT 21"
        ).fetchall()
        versions = tuple("" if row[0] is None else str(row[0]) for row in found)
        if options.model_version is None and len(versions) > 1:
            shown = ", ".join(repr(v) for v in versions[:20])
            raise UsageError(
                f"`outcomes`: {path} holds predictions of {len(versions)} model versions ({shown}); "
                "each has its own plan: choose one with --model-version"
            )
        if options.model_version is not None:
            if options.model_version not in versions:
                shown = ", ".join(repr(v) for v in versions[:20])
                raise UsageError(
                    f"`outcomes`: --model-version {options.model_version!r} is not in {path} (versions: {shown})"
                )
            where = f" WHERE CAST(model_version AS VARCHAR) = {literal(options.model_version)}"
            versions = (options.model_version,)
    elif options.model_version is not None:
        raise UsageError(f"`outcomes`: --model-version needs a model_version column, and {path} has none")
    rows = f"SELECT * FROM {scan}{where}"
    if "id" not in types:
        return rows, rows, versions
    ts = "TRY_CAST(timestamp AS TIMESTAMPTZ)" if is_text(types, "timestamp") else "timestamp"
    latest = f"{rows} QUALIFY id IS NULL OR row_number() OVER (PARTITION BY id ORDER BY {ts} DESC NULLS LAST) = 1"
    return rows, latest, versions


def repeats(con: Any, rows: str, types: dict[str, str], path: Path, options: LogOptions) -> int:
    """How many rows repeat an id. Without ``dedupe`` a repeat is an error naming the first repeated id."""
    if "id" not in types:
        return 0
    # Distinct 64-bit hashes first, four times cheaper than distinct text: ids whose hashes all
    # differ are all different. Only when some hashes repeat are the ids themselves compared.
    repeated = int(con.execute(f"SELECT count(id) - count(DISTINCT hash(id)) FROM ({rows})").fetchone()[0])
    if repeated:
        repeated = int(con.execute(f"SELECT count(id) - count(DISTINCT id) FROM ({rows})").fetchone()[0])
    if repeated and not options.dedupe:
        found = con.execute(
            f"SELECT CAST(id AS VARCHAR), count(*) FROM ({rows}) WHERE id IS NOT NULL GROUP BY id "
            "HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 1"
        ).fetchone()
        raise UsageError(
            f"`outcomes`: {path}: {repeated} predictions repeat an id (id {found[0]!r} appears {found[1]} times); "
            "pass --dedupe to keep each id's latest row, or remove the repeats"
        )
    return repeated


def quoted(name: str) -> str:
    """A column name as a DuckDB identifier, whatever it holds."""
    return '"' + name.replace('"', '""') + '"'


def is_text(types: dict[str, str], column: str) -> bool:
    return types[column].upper().startswith("VARCHAR")


def rows_view(types: dict[str, str], task: str, path: Path, scale: ScoreScale) -> str:
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

    def number(column: str) -> str:
        if is_text(types, column):
            return f"TRY_CAST(NULLIF(TRIM({column}), '') AS DOUBLE)"
        return f"CAST({column} AS DOUBLE)"

    if task == "classification" and "y_score" in columns:
        raw = number("y_score")
        score = {"probability": raw, "percent": f"{raw} / 100", "logit": f"1 / (1 + exp(-{raw}))"}[scale]
    else:
        score = number("y_score" if "y_score" in columns else "y_pred")
    ts = "TRY_CAST(timestamp AS TIMESTAMPTZ)" if is_text(types, "timestamp") else "CAST(timestamp AS TIMESTAMPTZ)"
    raw_truth = "NULLIF(TRIM(y_true), '')" if is_text(types, "y_true") else "NULL"
    raw_score = f"CAST({'y_score' if 'y_score' in columns else 'y_pred'} AS VARCHAR)"
    return (
        f"SELECT {ts} AS ts, {score} AS score, {number('y_true')} AS truth, {raw_truth} AS raw_truth, "
        f"{raw_score} AS raw_score FROM {SOURCE}"
    )


def example(con: Any, condition: str) -> str | None:
    found = con.execute(f"SELECT raw_score FROM outcome_rows WHERE {condition} LIMIT 1").fetchone()
    return None if found is None else found[0]


def daily_query(
    task: str,
    threshold: float | None,
    edges: Sequence[float],
    train_mean: float | None,
    calibration: Platt | None,
) -> tuple[str, list[Any]]:
    """Counts by UTC day, PSI bin, decision and outcome (and the faults); every number a bound parameter.

    The columns: day, bin, flag, truth, fault, bad_truth, count, then, for a classifier, the
    summed calibrated score, the sum of its squares, and the unlabelled rows' fine score bin
    (NULL for a labelled row); for a regression, the summed absolute errors of the model and of
    the no-model mean (NULL while unknown).
    """
    parameters: list[Any] = []
    keys = "day, bin, flag, outcome, fault, bad_truth"
    group = keys
    if task == "classification":
        # A log of decisions (calibration None, threshold None) flags its 1s; anything but 0 or 1 is out of range.
        decisions = threshold is None
        parameters.append(0.5 if decisions else float(threshold or 0.5))
        decided, truth = "score >= ?", "truth"
        outside = "score <> 0 AND score <> 1" if decisions else "score < 0 OR score > 1"
        fault = (
            f"CASE WHEN score IS NULL THEN {NO_SCORE} WHEN NOT isfinite(score) THEN {NOT_FINITE} "
            f"WHEN {outside} THEN {OUT_OF_RANGE} ELSE {FINE} END"
        )
        if calibration is None:
            calibrated = "score"
        else:
            # Platt scaling on the log-odds, the score kept off 0 and 1 so that both stay finite.
            parameters += [calibration.slope, calibration.intercept]
            kept = f"least(greatest(score, {EDGE!r}), 1 - {EDGE!r})"
            odds = f"ln({kept} / (1 - {kept}))"
            calibrated = f"1 / (1 + exp(-(? * {odds} + ?)))"
        last = UNLABELLED_BINS - 1
        fine = (
            f"CASE WHEN outcome IS NULL THEN CAST(least(floor(calibrated * {UNLABELLED_BINS}), {last}) AS INTEGER) END"
        )
        errors, sums = f", {calibrated} AS calibrated", ", sum(calibrated), sum(calibrated * calibrated), fine"
        group += ", fine"
    else:
        parameters.append(float(train_mean or 0.0))
        decided, truth = "NULL", "CAST(truth IS NOT NULL AS INTEGER)"
        fault = f"CASE WHEN score IS NULL THEN {NO_SCORE} WHEN NOT isfinite(score) THEN {NOT_FINITE} ELSE {FINE} END"
        errors = ", abs(truth - score) AS model_error, abs(truth - ?) AS baseline_error"
        sums, fine = ", sum(model_error), sum(baseline_error)", "NULL"
    parameters = [float(edge) for edge in edges] + parameters
    bin_case = "CASE " + " ".join(f"WHEN score < ? THEN {i}" for i in range(len(edges))) + f" ELSE {len(edges)} END"
    inner = (
        f"SELECT epoch_us(ts) // {DAY_US} AS day, {bin_case} AS bin, {decided} AS flag, {truth} AS outcome, "
        f"{fault} AS fault, truth IS NULL AND raw_truth IS NOT NULL AS bad_truth{errors} FROM outcome_rows"
    )
    # A faulty row's score may be NaN or out of range: its fine bin is never used, so it is NULL.
    binned = f"SELECT *, CASE WHEN fault = {FINE} THEN {fine} END AS fine FROM ({inner})"
    query = f"SELECT {keys}, count(*){sums} FROM ({binned}) GROUP BY {group}"
    return query, parameters
