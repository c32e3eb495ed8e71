"""When a production month calls for action: the tests behind keep, watch and retrain. Pure; no I/O.

Every rule compares like with like, a month's sample against the test set's sample, at a
stated significance, so its false-alarm rate is known (and measured by simulation in
``tests/test_realized_decisions.py``):

* **quality**: the month's recall against the test set's, and its false-positive rate
  against the test set's, each by a one-sided two-proportion z-test at ``ALPHA``;
* **base rate**: the month's share of positives against the plan's, two-sided at ``ALPHA``;
* **drift**: the PSI against a limit set by the sampling spread of a month of this size
  drawn from the test set's own population: PSI × n·m / (n + m) is close to a χ² with
  bins − 1 degrees of freedom, so the limit is its 1 − ``ALPHA`` quantile scaled back, and
  never below the usual 0.1 (watch) and 0.25 (shifted).

Retrain needs evidence in quality; drift, a moved base rate or a month behind plan alone
asks to watch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING

from tracker.money import ONE
from tracker.value import Confusion

if TYPE_CHECKING:
    from reports.plan_vs_actual import Month, Plan, ToDate

__all__ = [
    "ALPHA",
    "MIN_DRIFT_ROWS",
    "MIN_OUTCOMES",
    "DriftLimits",
    "drift_limits",
    "drift_words",
    "proportion_moved",
    "proportion_worse",
    "psi",
    "recommend",
    "wilson",
]

# The significance of each test: a healthy month trips one in a hundred times.
ALPHA = 0.01
# The usual PSI reading, kept as a floor: a month's spread never makes the limits looser than these.
PSI_WATCH, PSI_SHIFTED = 0.10, 0.25
# A drift verdict needs at least ten predictions a bin of the test set's deciles.
ROWS_PER_BIN = 10
MIN_DRIFT_ROWS = 10 * ROWS_PER_BIN
# A rate is judged on at least this many labelled cases of its kind (positives for recall).
MIN_OUTCOMES = 10
# The model's quality is judged on the known outcomes of the latest three months with any, pooled.
QUALITY_MONTHS = 3

_NORMAL = NormalDist()


def proportion_worse(x_month: int, n_month: int, x_test: int, n_test: int, *, higher_is_worse: bool) -> float:
    """One-sided p-value that the month's rate x/n is worse than the test set's (pooled two-proportion z-test)."""
    if n_month <= 0 or n_test <= 0:
        return 1.0
    p_month, p_test = x_month / n_month, x_test / n_test
    pooled = (x_month + x_test) / (n_month + n_test)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_month + 1 / n_test))
    if spread == 0:
        return 1.0
    z = (p_month - p_test) / spread
    return 1 - _NORMAL.cdf(z if higher_is_worse else -z)


def proportion_moved(x: int | float, n: int, planned: float) -> float:
    """Two-sided p-value that x positives in n cases come from a rate of ``planned`` (one-sample z-test)."""
    if n <= 0 or not 0 < planned < 1:
        return 1.0
    z = (x / n - planned) / math.sqrt(planned * (1 - planned) / n)
    return 2 * (1 - _NORMAL.cdf(abs(z)))


@dataclass(frozen=True)
class DriftLimits:
    watch: float
    shifted: float

    def reading(self, value: float) -> str:
        return "shifted" if value > self.shifted else ("watch" if value >= self.watch else "stable")


def drift_limits(month_rows: int, test_rows: int, bins: int) -> DriftLimits:
    """The PSI a month of ``month_rows`` reaches by chance alone against a test set of ``test_rows``.

    Two samples from one population give PSI·n·m/(n+m) ≈ χ²(bins − 1): the watch limit is its
    1 − ALPHA quantile, the shifted limit its 1 − ALPHA/10 quantile, each floored at the usual reading.
    """
    if month_rows <= 0 or test_rows <= 0 or bins < 2:
        return DriftLimits(PSI_WATCH, PSI_SHIFTED)
    scale = 1 / month_rows + 1 / test_rows
    return DriftLimits(
        max(PSI_WATCH, _chi2_quantile(1 - ALPHA, bins - 1) * scale),
        max(PSI_SHIFTED, _chi2_quantile(1 - ALPHA / 10, bins - 1) * scale),
    )


def _chi2_quantile(p: float, k: int) -> float:
    """The Wilson–Hilferty approximation of the χ² quantile (within 1% for k ≥ 3 in the tail used here)."""
    z = _NORMAL.inv_cdf(p)
    return float(k * (1 - 2 / (9 * k) + z * math.sqrt(2 / (9 * k))) ** 3)


def psi(expected: Sequence[int], actual: Sequence[int]) -> float:
    """Population stability index of ``actual`` bin counts against ``expected``: Σ (a − e)·ln(a / e).

    Shares are floored at 0.0001 so an empty bin does not make it infinite.
    """
    e_total, a_total = sum(expected), sum(actual)
    if not e_total or not a_total:
        return 0.0
    out = 0.0
    for e_count, a_count in zip(expected, actual, strict=True):
        e, a = max(e_count / e_total, 1e-4), max(a_count / a_total, 1e-4)
        out += (a - e) * math.log(a / e)
    return out


def wilson(successes: int, count: int, z_score: float = 1.96) -> tuple[float, float, float] | None:
    """The share and its Wilson score interval (95% by default); None without trials."""
    if count <= 0:
        return None
    p = successes / count
    centre = (p + z_score * z_score / (2 * count)) / (1 + z_score * z_score / count)
    half = (
        z_score
        * math.sqrt(p * (1 - p) / count + z_score * z_score / (4 * count * count))
        / (1 + z_score * z_score / count)
    )
    return p, max(0.0, centre - half), min(1.0, centre + half)


def drift_words(month: str, predictions: int, value: float, reading: str) -> str:
    """The drift reading in a stakeholder's words."""
    if reading == "not judged":
        return f"Drift is not judged in {month}: {predictions} predictions, fewer than the {MIN_DRIFT_ROWS} it needs."
    return {
        "stable": f"The production scores look like the test set's (PSI {value:.2f}).",
        "watch": f"The production scores have moved from the test set's beyond chance (PSI {value:.2f}).",
        "shifted": f"The production scores have shifted from the test set's (PSI {value:.2f}).",
    }[reading]


def recommend(
    plan: Plan, months: Sequence[Month], to_date: ToDate, positive_name: str, moved: Sequence[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """keep, watch or retrain, with the reasons in a stakeholder's words (the rules: :mod:`reports.alerts`)."""
    reasons: list[str] = []
    retrain = watch = False
    latest = months[-1] if months else None
    if plan.values is not None:
        quality, said = _quality(plan, months, positive_name)
        retrain = quality
        reasons += said
        if latest is not None and latest.positive_rate is not None and latest.predictions:
            positives = float(latest.positive_rate) * latest.predictions
            if proportion_moved(positives, latest.predictions, float(plan.planned_rate)) < ALPHA:
                watch = True
                word = "risen" if latest.positive_rate > plan.planned_rate else "fallen"
                reasons.append(
                    f"In {latest.month} the share of {positive_name} has {word} from {plan.planned_rate:.1%} "
                    f"in the plan to {latest.positive_rate:.1%}."
                )
    if latest is not None and latest.planned_uplift:
        ratio = latest.uplift / latest.planned_uplift - ONE
        more = "more" if ratio > 0 else "less"
        estimated = (
            ""
            if latest.labelled == latest.predictions
            else " (estimated: no outcome known yet)"
            if not latest.labelled
            else " (partly estimated)"
        )
        reasons.append(f"{latest.month} was worth {abs(ratio):.0%} {more} than planned{estimated}.")
    if latest is not None:
        watch = watch or latest.drift in ("watch", "shifted")
        reasons.append(drift_words(latest.month, latest.predictions, latest.psi, latest.drift))
        if moved and latest.drift in ("watch", "shifted"):
            reasons.append(f"The inputs that moved most in {latest.month}: {', '.join(moved)}.")
    standing = {"ahead": "ahead of the plan", "behind": "behind the plan", "on plan": "on plan"}[to_date.status]
    reasons.append(f"To date the project is {standing}.")
    if retrain:
        return "retrain", tuple(reasons)
    if watch or to_date.status == "behind":
        return "watch", tuple(reasons)
    return "keep", tuple(reasons)


def _quality(plan: Plan, months: Sequence[Month], positive_name: str) -> tuple[bool, list[str]]:
    """Whether the latest QUALITY_MONTHS months' known outcomes, pooled, show a model worse than on the test set."""
    recent = [m for m in months if m.labelled][-QUALITY_MONTHS:]
    c = Confusion(*(sum(getattr(m.counts, cell) for m in recent) for cell in ("tp", "fp", "fn", "tn")))
    if c.tp + c.fn < MIN_OUTCOMES or c.fp + c.tn < MIN_OUTCOMES:
        return False, [
            f"Too few outcomes are known to judge the model's quality (at least {MIN_OUTCOMES} of each kind)."
        ]
    t = plan.test
    when = recent[0].month if len(recent) == 1 else f"{recent[0].month} to {recent[-1].month}"
    p_recall = proportion_worse(c.tp, c.tp + c.fn, t.tp, t.tp + t.fn, higher_is_worse=False)
    p_false = proportion_worse(c.fp, c.fp + c.tn, t.fp, t.fp + t.tn, higher_is_worse=True)
    said = []
    if p_recall < ALPHA:
        said.append(
            f"The model catches only {c.tpr:.0%} of the {positive_name} in {when}, "
            f"against {t.tpr:.0%} on the test set: worse beyond chance (p = {p_recall:.3f})."
        )
    else:
        said.append(
            f"The model still catches {c.tpr:.0%} of the {positive_name} in {when} ({t.tpr:.0%} on the test set)."
        )
    if p_false < ALPHA:
        said.append(
            f"It flags {c.fpr:.0%} of the others, against {t.fpr:.0%} on the test set: "
            f"worse beyond chance (p = {p_false:.3f})."
        )
    return p_recall < ALPHA or p_false < ALPHA, said
