"""The verdict in words: the recommendation and its reason, and the model's quality as a stakeholder reads it."""

from __future__ import annotations

from decimal import Decimal

from reports.roi import Valuation
from tracker.value import Confusion

__all__ = ["DEPLOY_CONFIDENCE", "plain_quality", "recommend"]

DEPLOY_CONFIDENCE = Decimal("0.9")


def recommend(
    result: Valuation,
    probability_npv_positive: Decimal | None,
    scenarios: int,
    *,
    ranged: bool = True,
    validation: bool = True,
) -> tuple[str, str]:
    """(decision, reason), by the documented rule, on the forward NPV (the costs still to come).

    * **No verdict** when no development cost was found: there is no investment to judge.
    * **Do not deploy** when the forward NPV is zero or negative.
    * **Deploy** when the forward NPV is positive in at least 90% of the simulated scenarios.
    * **Deploy and monitor** when it is positive, but less surely so.

    The reason names only what the simulation varied: the ranges when some were ``ranged``,
    the validation rows when a threshold was re-picked on them (``validation``).
    """
    if result.development_cost is None or result.development_cost <= 0:
        return "No verdict", (
            "No development cost was found, so there is no investment to judge; find the spend "
            "(cost window, tags) or enter roi.one_off_costs. Net benefit and NPV are shown as computed."
        )
    if result.npv <= 0:
        return (
            "Do not deploy",
            "Discounted over the horizon, the benefit does not cover the costs still to come and the running cost.",
        )
    rows = "resampled test and validation rows" if validation else "resampled test rows"
    ranges = "the stated ranges of the assumptions, " if ranged else ""
    condition = f"given {ranges}{rows}, and production that resembles the test data"
    if probability_npv_positive is None:
        return "Deploy and monitor", "The forward NPV is positive; its uncertainty was not simulated."
    # One decimal: 99.6% must not read as a certain 100%.
    share = f"{probability_npv_positive:.1%}"
    if probability_npv_positive >= DEPLOY_CONFIDENCE:
        return "Deploy", f"The forward NPV is positive in {share} of {scenarios:,} simulated scenarios, {condition}."
    return "Deploy and monitor", (
        f"The forward NPV is positive, but only in {share} of {scenarios:,} simulated scenarios, {condition}; "
        "watch the live results."
    )


def plain_quality(counts: Confusion, positive_name: str, production_rate: Decimal | None = None) -> list[str]:
    """The model's quality in plain words, from the test set's rates at the production rate.

    The share of false alarms depends on how common positives are, so it is quoted at the
    production rate the money uses (the test set's own when none is given).
    """
    sentences = []
    positives = counts.tp + counts.fn
    if positives:
        caught = round(100 * counts.tp / positives)
        sentences.append(f"It flags {caught} of every 100 {positive_name}.")
    p = counts.positive_rate if production_rate is None else production_rate
    true_alarms, false_alarms = p * counts.tpr, (1 - p) * counts.fpr
    if counts.fp and true_alarms + false_alarms > 0:
        false = round(100 * false_alarms / (true_alarms + false_alarms))
        sentences.append(f"{false} of every 100 of its alerts are false alarms.")
    elif counts.tp:
        sentences.append("None of its alerts on the test set was a false alarm.")
    return sentences
