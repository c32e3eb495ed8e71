"""Analysing a report's evidence: the assumptions, the decision, the value, its uncertainty.

Pure: :func:`analyse` reads an :class:`~reports.gather.Evidence` and the settings and
returns an :class:`Analysis`; nothing here touches a store, a file or the network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from reports import roi
from reports.checks import notes, warnings
from reports.figures import QualityRow, score
from reports.inputs import Registered, assumptions, basis, credit_surplus, register
from reports.sensitivity import Sensitivity, numeric_assumptions, scenarios, sensitivity
from reports.simulation import (
    Scored,
    Uncertainty,
    best_threshold,
    classification_replicate,
    confusion_at,
    regression_replicate,
    simulate,
)
from reports.verdict import plain_quality, recommend
from tracker.errors import TrackerError
from tracker.metrics import classification_metrics, regression_metrics
from tracker.value import Baseline

if TYPE_CHECKING:
    from reports.gather import Evidence
    from tracker.config import Settings

__all__ = ["Analysis", "Decision", "analyse"]


@dataclass(frozen=True)
class Decision:
    """How a classifier's scores become decisions, and what each choice is worth on the test set."""

    threshold: float
    model: roi.Confusion
    # Another model's decisions on the test rows; None for a baseline by kind.
    baseline: roi.Confusion | None
    at_half: roi.Valuation
    test_positive_rate: Decimal
    val_positive_rate: Decimal
    capacity_binds: bool


@dataclass(frozen=True)
class Analysis:
    """What the evidence says: the value at the likely assumptions, its spread, and the verdict."""

    assumptions: roi.Assumptions
    result: roi.Valuation
    uncertainty: Uncertainty
    sensitivity: list[Sensitivity]
    decision: Decision | None
    quality: tuple[QualityRow, ...]
    words: list[str]
    notes: tuple[str, ...]
    recommendation: str
    reason: str
    # What a finance reader must see on page 1 before trusting the figures.
    warnings: tuple[str, ...]
    spend_basis: str  # "billed" or "estimated"
    # Each ranged assumption's label, by its name.
    range_labels: dict[str, str]
    # The baseline as valued (``better_of`` made concrete), and the other one a reader would ask about.
    baseline: Baseline
    alternative: Baseline
    alternative_result: roi.Valuation
    scenarios: dict[str, Decimal]
    operations: roi.Operations | None
    register: tuple[Registered, ...]
    # Credits beyond the cloud usage: shown, never taken off another cost.
    credit_surplus: Decimal


def analyse(evidence: Evidence, settings: Settings) -> Analysis:
    """The value model applied to the evidence: value, uncertainty, sensitivity, quality and the verdict."""
    a = assumptions(settings, evidence)
    if evidence.task == "classification":
        valued = _classify(evidence, a, settings)
    else:
        valued = _regress(evidence, a, settings)
    result, uncertainty, decision = valued.result, valued.uncertainty, valued.decision
    said = notes(evidence, a, settings, decision.test_positive_rate if decision else None)
    decision_text, reason = recommend(
        result,
        uncertainty.probability_npv_positive,
        uncertainty.replicates,
        ranged=bool(a.ranges),
        validation=decision is not None,
    )
    baseline, alternative = _baselines(evidence, a, decision)
    alternative_result = valued.npv_of(replace(a, baseline=alternative), None)
    return Analysis(
        assumptions=a,
        result=result,
        uncertainty=uncertainty,
        sensitivity=sensitivity(lambda moved: valued.npv_of(moved, decision).npv, a),
        decision=decision,
        quality=valued.quality,
        words=valued.words,
        notes=said,
        recommendation=decision_text,
        reason=reason,
        warnings=warnings(evidence, a, settings, result, decision is not None and decision.capacity_binds),
        spend_basis=basis(evidence),
        range_labels={name: label for name, label, _ in numeric_assumptions(a)},
        baseline=baseline,
        alternative=alternative,
        alternative_result=alternative_result,
        scenarios=scenarios(lambda moved: valued.npv_of(moved, decision).npv, a),
        operations=roi.operations(decision.model, a, capacity_binds=decision.capacity_binds) if decision else None,
        register=register(settings, evidence, a, decision.model if decision else None),
        credit_surplus=credit_surplus(evidence),
    )


def _baselines(evidence: Evidence, a: roi.Assumptions, decision: Decision | None) -> tuple[Baseline, Baseline]:
    """The baseline as valued, and the alternative page 1 gives in one line."""
    if decision is None:  # a regression: no model predicts the training mean
        chosen = a.baseline if a.baseline.kind == "model" else Baseline("model", reference="training mean")
        return chosen, chosen
    if decision.baseline is not None:
        return a.baseline, Baseline("better_of").resolved(a.values, roi.production_rate(decision.model, a))
    p = roi.production_rate(decision.model, a)
    chosen = a.baseline.resolved(a.values, p)
    if chosen.kind == "no_action":
        return chosen, Baseline("act_on_all")
    if chosen.kind == "act_on_all":
        return chosen, Baseline("no_action")
    return chosen, Baseline("better_of").resolved(a.values, p)


# -- classification ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Valued:
    """One task's figures, and how to value moved assumptions (the sensitivity, the scenarios)."""

    result: roi.Valuation
    uncertainty: Uncertainty
    decision: Decision | None
    quality: tuple[QualityRow, ...]
    words: list[str]
    # (moved assumptions, the decision whose baseline decisions to use, or None for a baseline by kind)
    npv_of: Callable[[roi.Assumptions, Decision | None], roi.Valuation]


def _classify(evidence: Evidence, assumed: roi.Assumptions, settings: Settings) -> _Valued:
    test = Scored.of(evidence.test["y_true"], evidence.test["y_score"])
    val = Scored.of(evidence.val["y_true"], evidence.val["y_score"])
    threshold = best_threshold(val, assumed)
    base_flags = (
        None if evidence.baseline is None else np.asarray([int(v) for v in evidence.baseline["y_pred"]], dtype=np.int64)
    )
    counts = confusion_at(test, threshold)
    base = None if base_flags is None else confusion_at(Scored(test.y_true, base_flags.astype(np.float64)), 0.5)
    result = roi.classification_value(counts, base, assumed)
    decision = Decision(
        threshold=threshold,
        model=counts,
        baseline=base,
        at_half=roi.classification_value(confusion_at(test, 0.5), base, assumed),
        test_positive_rate=counts.positive_rate,
        val_positive_rate=confusion_at(val, threshold).positive_rate,
        capacity_binds=assumed.capacity_per_month is not None
        and threshold != best_threshold(val, assumed, capped=False),
    )
    uncertainty = simulate(
        assumed,
        classification_replicate(test, val, base_flags),
        test_rows=len(test.y_true),
        val_rows=len(val.y_true),
        replicates=settings.roi.bootstrap_replicates,
        seed=settings.seed,
        method=(
            "seeded Monte Carlo: triangular draws of the ranged assumptions, a bootstrap of the test rows, "
            "and the threshold re-picked on a bootstrap of the validation rows"
            if assumed.ranges
            else "seeded Monte Carlo: a bootstrap of the test rows, and the threshold re-picked on a bootstrap "
            "of the validation rows"
        ),
    )
    predicted = [int(v) for v in (test.y_score >= threshold)]
    val_predicted = [int(v) for v in (val.y_score >= threshold)]
    quality = _quality_rows(
        classification_metrics(list(test.y_true), predicted, list(test.y_score)),
        classification_metrics(list(val.y_true), val_predicted, list(val.y_score)),
        classification_metrics(list(test.y_true), [int(v) for v in base_flags], None) if base_flags is not None else {},
        "classification",
    )
    words = plain_quality(counts, settings.roi.positive_name, assumed.production_positive_rate)

    def npv_of(moved: roi.Assumptions, with_decision: Decision | None) -> roi.Valuation:
        return roi.classification_value(counts, with_decision.baseline if with_decision else None, moved)

    return _Valued(result, uncertainty, decision, quality, words, npv_of)


# -- regression --------------------------------------------------------------------------------------


def _regress(evidence: Evidence, assumed: roi.Assumptions, settings: Settings) -> _Valued:
    y_true = [float(v) for v in evidence.test["y_true"]]
    y_pred = [float(v) for v in evidence.test["y_pred"]]
    if evidence.baseline is None:
        if evidence.best.train_mean is None:
            raise TrackerError(
                f"run {evidence.best.run_id} does not record its training mean, which the no-model baseline "
                "predicts; rerun the sweep to register its champion again"
            )
        base_pred = [evidence.best.train_mean] * len(y_true)
    else:
        base_pred = [float(v) for v in evidence.baseline["y_pred"]]
    model_err = [abs(Decimal(repr(t)) - Decimal(repr(p))) for t, p in zip(y_true, y_pred, strict=True)]
    base_err = [abs(Decimal(repr(t)) - Decimal(repr(p))) for t, p in zip(y_true, base_pred, strict=True)]
    n = Decimal(len(y_true))
    model_total, base_total = sum(model_err, Decimal(0)), sum(base_err, Decimal(0))
    result = roi.regression_value(model_total, base_total, n, assumed)
    uncertainty = simulate(
        assumed,
        regression_replicate(np.array([float(e) for e in model_err]), np.array([float(e) for e in base_err])),
        test_rows=len(y_true),
        val_rows=0,
        replicates=settings.roi.bootstrap_replicates,
        seed=settings.seed,
        method=(
            "seeded Monte Carlo: triangular draws of the ranged assumptions and a bootstrap of the test rows"
            if assumed.ranges
            else "seeded Monte Carlo: a bootstrap of the test rows"
        ),
    )
    quality = _quality_rows(regression_metrics(y_true, y_pred), {}, regression_metrics(y_true, base_pred), "regression")
    words = [f"Its predictions are off by {model_total / n:.3g} on average, against {base_total / n:.3g} without it."]

    def npv_of(moved: roi.Assumptions, _with_decision: Decision | None) -> roi.Valuation:
        return roi.regression_value(model_total, base_total, n, moved)

    return _Valued(result, uncertainty, None, quality, words, npv_of)


DEFINITIONS = {
    "accuracy": "share of all predictions that are right",
    "precision": "share of flagged cases that really are positive",
    "recall": "share of real positives that are flagged",
    "f1": "balance of precision and recall (their harmonic mean)",
    "roc_auc": "chance a random positive is scored above a random negative",
    "mse": "mean of squared errors",
    "rmse": "typical size of an error, in the target's units",
    "mae": "mean absolute error, in the target's units",
    "r2": "share of the target's variance explained",
}


def _quality_rows(
    test: dict[str, float], val: dict[str, float], baseline: dict[str, float], task: str
) -> tuple[QualityRow, ...]:
    names = (
        ["accuracy", "precision", "recall", "f1", "roc_auc"]
        if task == "classification"
        else ["mse", "rmse", "mae", "r2"]
    )
    return tuple(
        QualityRow(name, DEFINITIONS[name], score(test.get(name)), score(val.get(name)), score(baseline.get(name)))
        for name in names
    )
