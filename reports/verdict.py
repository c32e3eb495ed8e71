"""The verdict in words: the recommendation and its reason, and the model's quality as a stakeholder reads it."""

from __future__ import annotations

from decimal import Decimal

from reports.roi import Valuation
from tracker.value import Confusion

__all__ = ["DEPLOY_CONFIDENCE", "plain_quality", "recommend"]

DEPLOY_CONFIDENCE = Decimal("0.9")


def recommend(result: Valuation, probability_npv_positive: Decimal | None, scenarios: int) -> tuple[str, str]:
    """(decision, reason), by the documented rule.

    * **No verdict** when no development cost was found: there is no investment to judge.
    * **Do not deploy** when the NPV is zero or negative.
    * **Deploy** when the NPV is positive in at least 90% of the simulated scenarios.
    * **Deploy and monitor** when the NPV is positive, but less surely so.
    """
    if result.development_cost is None or result.development_cost <= 0:
        return "No verdict", (
            "No development cost was found, so there is no investment to judge; find the spend "
            "(cost window, tags) or enter roi.one_off_costs. Net benefit and NPV are shown as computed."
        )
    if result.npv <= 0:
        return (
            "Do not deploy",
            "Discounted over the horizon, the benefit does not cover what the model costs to build and run.",
        )
    condition = (
        "given the stated ranges of the assumptions, resampled test and validation rows, "
        "and production that resembles the test data"
    )
    if probability_npv_positive is None:
        return "Deploy and monitor", "The expected NPV is positive; its uncertainty was not simulated."
    # One decimal: 99.6% must not read as a certain 100%.
    share = f"{probability_npv_positive:.1%}"
    if probability_npv_positive >= DEPLOY_CONFIDENCE:
        return "Deploy", f"The NPV is positive in {share} of {scenarios:,} simulated scenarios, {condition}."
    return "Deploy and monitor", (
        f"The expected NPV is positive, but only in {share} of {scenarios:,} simulated scenarios, {condition}; "
        "watch the live results."
    )


def plain_quality(counts: Confusion, positive_name: str) -> list[str]:
    """The model's quality in plain words, from the counts on the test set."""
    sentences = []
    positives = counts.tp + counts.fn
    if positives:
        caught = round(100 * counts.tp / positives)
        sentences.append(f"It flags {caught} of every 100 {positive_name}.")
    alerts = counts.tp + counts.fp
    if alerts and counts.fp:
        false = round(100 * counts.fp / alerts)
        sentences.append(f"{false} of every 100 of its alerts are false alarms.")
    elif alerts:
        sentences.append("None of its alerts on the test set was a false alarm.")
    return sentences
