"""Which of the model's inputs moved: each feature column the production log shares with the
test split, in the latest month, against the test split.

Numeric features: the PSI over the test split's deciles. Categorical features: the
Jensen–Shannon divergence (natural log) between the two shares of each category, with the
category that moved most. To rank the two kinds together, a categorical's divergence is
scaled by 8, which puts it on the PSI's scale for small shifts (both are then close to
Σ (a − e)² ÷ e). Used to name what moved, never to decide: the recommendation's rules are
in :mod:`reports.alerts`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports import log_sql as sql
from reports.alerts import psi

if TYPE_CHECKING:
    import pandas as pd

    from reports.outcomes import LogOptions

__all__ = ["FeatureShift", "feature_shifts"]

DECILES = [q / 10 for q in range(1, 10)]
# Columns of the log that are never features.
NOT_FEATURES = {"timestamp", "id", "model_version", "y_score", "y_pred", "y_true"}


@dataclass(frozen=True)
class FeatureShift:
    name: str
    measure: str  # "PSI" (numeric) or "JS" (categorical)
    value: float
    scale: float  # on the PSI's scale, for ranking
    detail: str  # e.g. "'unknown' 29% → 61%"

    def words(self) -> str:
        return f"{self.name} ({self.measure} {self.value:.2f}{'; ' + self.detail if self.detail else ''})"


def feature_shifts(path: Path, options: LogOptions, month: str, test: pd.DataFrame) -> tuple[FeatureShift, ...]:
    """Every feature the log shares with the test split, its shift in ``month`` (YYYY-MM, UTC), largest first."""
    import duckdb
    import pandas as pd

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        scan, _ = sql.scan(path)
        columns = sql.columns(con, scan, path)
        shared = [c for c in test.columns if c in columns and c not in NOT_FEATURES]
        if not shared:
            return ()
        rows, latest, _ = sql.source(con, scan, columns, path, options)
        ts = "TRY_CAST(timestamp AS TIMESTAMPTZ)" if sql.is_text(columns, "timestamp") else "timestamp"
        year, number = int(month[:4]), int(month[5:7])
        bounds = [f"{month}-01", f"{year + number // 12:04d}-{number % 12 + 1:02d}-01"]
        month_rows = _MonthRows(
            f"({latest if options.dedupe else rows}) WHERE {ts} >= CAST(? AS TIMESTAMPTZ) "
            f"AND {ts} < CAST(? AS TIMESTAMPTZ)",
            bounds,
        )
        out = []
        for name in shared:
            reference = test[name]
            if pd.api.types.is_numeric_dtype(reference):
                out.append(_numeric(con, month_rows, name, reference))
            else:
                out.append(_categorical(con, month_rows, name, reference))
    finally:
        con.close()
    return tuple(sorted((s for s in out if s is not None), key=lambda s: -s.scale))


@dataclass(frozen=True)
class _MonthRows:
    """The month's rows as a FROM clause, and the parameters it binds."""

    source: str
    parameters: list[Any]


def _numeric(con: Any, rows: _MonthRows, name: str, reference: pd.Series) -> FeatureShift | None:
    import numpy as np

    values = reference.to_numpy(dtype=float)
    edges = sorted({float(e) for e in np.quantile(values, DECILES)})
    expected = np.bincount(np.searchsorted(np.asarray(edges), values, side="right"), minlength=len(edges) + 1)
    column = sql.quoted(name)
    case = "CASE " + " ".join(f"WHEN v < ? THEN {i}" for i in range(len(edges))) + f" ELSE {len(edges)} END"
    found = con.execute(
        f"SELECT {case} AS b, count(*) FROM (SELECT TRY_CAST({column} AS DOUBLE) AS v FROM {rows.source}) "
        "WHERE v IS NOT NULL GROUP BY b",
        [*edges, *rows.parameters],
    ).fetchall()
    actual = [0] * (len(edges) + 1)
    for bin_, count in found:
        actual[int(bin_)] = int(count)
    if not sum(actual):
        return None
    value = psi([int(e) for e in expected], actual)
    return FeatureShift(name, "PSI", value, value, "")


def _categorical(con: Any, rows: _MonthRows, name: str, reference: pd.Series) -> FeatureShift | None:
    column = sql.quoted(name)
    found = con.execute(
        f"SELECT CAST({column} AS VARCHAR) AS v, count(*) FROM {rows.source} GROUP BY v", rows.parameters
    ).fetchall()
    actual = {("" if v is None else str(v)): int(n) for v, n in found}
    expected = {str(k): int(n) for k, n in reference.astype(str).value_counts().items()}
    a_total, e_total = sum(actual.values()), sum(expected.values())
    if not a_total or not e_total:
        return None
    shares = {k: (expected.get(k, 0) / e_total, actual.get(k, 0) / a_total) for k in set(actual) | set(expected)}
    js = 0.0
    for p, q in shares.values():
        mid = (p + q) / 2
        js += 0.5 * (p * math.log(p / mid) if p else 0.0) + 0.5 * (q * math.log(q / mid) if q else 0.0)
    moved, (p, q) = max(shares.items(), key=lambda item: abs(item[1][1] - item[1][0]))
    return FeatureShift(name, "JS", js, 8 * js, f"{moved!r} {p:.0%} → {q:.0%}")
