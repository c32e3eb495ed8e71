"""Analysing a report's evidence: the assumptions, the decision, the value, its uncertainty.

Pure: :func:`analyse` reads an :class:`~reports.gather.Evidence` and the settings and
returns an :class:`Analysis`; nothing here touches a store, a file or the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from reports import roi
from reports.figures import QualityRow, score
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
from tracker.config import Estimate, likely
from tracker.errors import ConfigError, TrackerError
from tracker.metrics import EXPECTED_VALUE, classification_metrics, regression_metrics
from tracker.money import cents_text
from tracker.record.layout import val_metric

if TYPE_CHECKING:
    from reports.gather import Evidence
    from tracker.config import RoiConfig, Settings

__all__ = ["Analysis", "Decision", "analyse", "basis", "estimated_alongside"]

# Billed and estimated spend further apart than this are worth a word on page 1.
SPEND_MISMATCH = Decimal(10)


@dataclass(frozen=True)
class Decision:
    """How a classifier's scores become decisions, and what each choice is worth on the test set."""

    threshold: float
    model: roi.Confusion
    baseline: roi.Confusion
    at_half: roi.Valuation
    test_positive_rate: Decimal
    val_positive_rate: Decimal


@dataclass(frozen=True)
class Analysis:
    """What the evidence says: the value at the likely assumptions, its spread, and the verdict."""

    assumptions: roi.Assumptions
    result: roi.Valuation
    uncertainty: Uncertainty
    sensitivity: list[roi.Sensitivity]
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


def analyse(evidence: Evidence, settings: Settings) -> Analysis:
    """The value model applied to the evidence: value, uncertainty, sensitivity, quality and the verdict."""
    a = assumptions(settings, evidence)
    if evidence.task == "classification":
        result, uncertainty, sens, decision, quality, words = _classify(evidence, a, settings)
    else:
        result, uncertainty, sens, quality, words = _regress(evidence, a, settings)
        decision = None
    notes = _notes(evidence, a, settings, decision)
    decision_text, reason = recommend(result, uncertainty.probability_npv_positive, uncertainty.replicates)
    return Analysis(
        assumptions=a,
        result=result,
        uncertainty=uncertainty,
        sensitivity=sens,
        decision=decision,
        quality=quality,
        words=words,
        notes=notes,
        recommendation=decision_text,
        reason=reason,
        warnings=_warnings(evidence, a, settings),
        spend_basis=basis(evidence),
        range_labels={name: label for name, label, _ in roi.numeric_assumptions(a)},
    )


# -- the assumptions -------------------------------------------------------------------------------


def assumptions(settings: Settings, evidence: Evidence) -> roi.Assumptions:
    """The value model's inputs from the ``roi`` section, the spend found and the measured running cost."""
    r = settings.roi
    if evidence.task == "classification" and r.value_per_outcome is None and r.action is None:
        raise ConfigError(
            "roi.value_per_outcome: required for a classifier; give true_positive, false_positive, "
            "false_negative and true_negative (money per prediction), or roi.action"
        )
    if evidence.task == "regression" and r.value_per_unit_error is None:
        raise ConfigError("roi.value_per_unit_error: required for a regression model (money per unit of error)")
    ranges: dict[str, roi.Range] = {}

    def take(name: str, value: Decimal | Estimate | None, default: Decimal = Decimal(0)) -> Decimal:
        if value is None:
            return default
        if isinstance(value, Estimate):
            ranges[name] = roi.Range(value.low, value.likely, value.high)
        return likely(value)

    values = r.value_per_outcome
    action = None
    if r.action is not None:
        action = roi.Action(
            value_if_caught=take("action.value_if_caught", r.action.value_if_caught),
            success_rate=take("action.success_rate", r.action.success_rate),
            action_cost=take("action.action_cost", r.action.action_cost),
        )
    running = (
        evidence.running.per_month if evidence.running else take("running_cost_per_month", r.running_cost_per_month)
    )
    return roi.Assumptions(
        currency=r.currency,
        horizon_months=r.horizon_months,
        predictions_per_month=take("predictions_per_month", r.predictions_per_month),
        running_cost_per_month=running,
        cloud_cost=evidence.spend.total if evidence.spend.rows else None,
        one_off_costs=tuple(roi.OneOffCost(c.name, take(f"one_off_costs.{c.name}", c.amount)) for c in r.one_off_costs),
        value_tp=take("value_tp", values.true_positive) if values else Decimal(0),
        value_fp=take("value_fp", values.false_positive) if values else Decimal(0),
        value_fn=take("value_fn", values.false_negative) if values else Decimal(0),
        value_tn=take("value_tn", values.true_negative) if values else Decimal(0),
        action=action,
        production_positive_rate=(
            take("production_positive_rate", r.production_positive_rate)
            if r.production_positive_rate is not None
            else None
        ),
        value_per_unit_error=take("value_per_unit_error", r.value_per_unit_error),
        discount_rate_annual=take("discount_rate_annual", r.discount_rate_annual),
        ramp_up_months=r.ramp_up_months,
        ranges=ranges,
    )


def basis(evidence: Evidence) -> str:
    """Whether the development spend is billed or estimated."""
    spend = evidence.spend
    return "estimated" if spend.estimated or spend.source == "estimate" else "billed"


def double_counting(roi_config: RoiConfig) -> bool:
    """A positive value for a catch and a negative one for a miss usually count one customer twice."""
    v = roi_config.value_per_outcome
    return v is not None and likely(v.false_negative) < 0 and likely(v.true_positive) > 0


def _warnings(evidence: Evidence, assumptions: roi.Assumptions, settings: Settings) -> tuple[str, ...]:
    """What a finance reader must see on page 1 before trusting the figures."""
    out = list(evidence.spend.warnings)
    w = evidence.window
    if not w.overlaps_runs:
        out.append(
            f"The spend window {w.start or 'from the start'} to {w.end or 'today'} does not overlap the runs "
            f"({w.runs_first} to {w.runs_last}); the development cost may belong to something else."
        )
    if assumptions.cloud_cost is None:
        out.append("No cloud spend was found for the project's tags in the spend window.")
    elif assumptions.cloud_cost <= 0:
        nets = f"{cents_text(assumptions.cloud_cost)} {assumptions.currency}"
        out.append(f"The cloud spend nets to {nets}: credits or refunds exceed usage.")
    estimated = estimated_alongside(evidence)
    billed = assumptions.cloud_cost
    if estimated is not None and billed is not None and (billed > 0 or estimated > 0):
        low, high = sorted((abs(billed), abs(estimated)))
        if low == 0 or high / low > SPEND_MISMATCH:
            out.append(
                f"Billed spend ({cents_text(billed)} {assumptions.currency}) and the sweep's estimate from trial "
                f"durations ({cents_text(estimated)} USD) differ more than {SPEND_MISMATCH}-fold: check that the "
                "tags and the window select this project's work."
            )
    if evidence.task == "classification" and double_counting(settings.roi):
        out.append(
            "The value model gives a catch a positive value and a miss a negative one, so each catch counts "
            f"{cents_text(assumptions.value_of_a_catch)} {assumptions.currency}: usually the same customer twice. "
            "Value each outcome against doing nothing, or use roi.action."
        )
    return tuple(out)


def estimated_alongside(evidence: Evidence) -> Decimal | None:
    """The sweep's own estimate from trial durations, to set beside billed spend; None for an estimate."""
    if evidence.spend.source == "estimate" or not evidence.trials:
        return None
    return sum((Decimal(str(t.cost_estimated)) for t in evidence.trials), Decimal(0))


def _notes(
    evidence: Evidence, assumptions: roi.Assumptions, settings: Settings, decision: Decision | None
) -> tuple[str, ...]:
    """What the figures assume, said once on page 1."""
    out = []
    if decision is not None and assumptions.production_positive_rate is None:
        out.append(
            f"Production is assumed to have the test set's positive rate ({decision.test_positive_rate:.1%}); "
            "set roi.production_positive_rate to correct it."
        )
    if evidence.metric_key == val_metric(EXPECTED_VALUE):
        out.append(
            "The sweep optimised this money directly: objective.metric expected_value, the expected value per "
            "prediction on validation, each trial at its own best threshold."
        )
    w = evidence.window
    out.append(
        f"Development spend: {w.start or 'from the start'} to {w.end or 'today'} ({w.chosen_by}), "
        f"{basis(evidence)}, from {evidence.spend.source}."
    )
    if evidence.running is not None:
        months = ", ".join(evidence.running.months)
        out.append(f"Running cost measured from the bill: the average of {months}.")
    return tuple(out)


# -- classification ---------------------------------------------------------------------------------


def _classify(
    evidence: Evidence, assumed: roi.Assumptions, settings: Settings
) -> tuple[roi.Valuation, Uncertainty, list[roi.Sensitivity], Decision, tuple[QualityRow, ...], list[str]]:
    test = Scored.of(evidence.test["y_true"], evidence.test["y_score"])
    val = Scored.of(evidence.val["y_true"], evidence.val["y_score"])
    threshold = best_threshold(val, assumed)
    base_flags = (
        np.zeros(len(test.y_true), dtype=np.int64)
        if evidence.baseline is None
        else np.asarray([int(v) for v in evidence.baseline["y_pred"]], dtype=np.int64)
    )
    counts = confusion_at(test, threshold)
    base = confusion_at(Scored(test.y_true, base_flags.astype(np.float64)), 0.5)
    result = roi.classification_value(counts, base, assumed)
    decision = Decision(
        threshold=threshold,
        model=counts,
        baseline=base,
        at_half=roi.classification_value(confusion_at(test, 0.5), base, assumed),
        test_positive_rate=counts.positive_rate,
        val_positive_rate=confusion_at(val, threshold).positive_rate,
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
        ),
    )
    sens = roi.sensitivity(lambda moved: roi.classification_value(counts, base, moved).npv, assumed)
    predicted = [int(v) for v in (test.y_score >= threshold)]
    val_predicted = [int(v) for v in (val.y_score >= threshold)]
    quality = _quality_rows(
        classification_metrics(list(test.y_true), predicted, list(test.y_score)),
        classification_metrics(list(val.y_true), val_predicted, list(val.y_score)),
        classification_metrics(list(test.y_true), [int(v) for v in base_flags], None),
        "classification",
    )
    words = plain_quality(counts, settings.roi.positive_name)
    return result, uncertainty, sens, decision, quality, words


# -- regression --------------------------------------------------------------------------------------


def _regress(
    evidence: Evidence, assumed: roi.Assumptions, settings: Settings
) -> tuple[roi.Valuation, Uncertainty, list[roi.Sensitivity], tuple[QualityRow, ...], list[str]]:
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
        method="seeded Monte Carlo: triangular draws of the ranged assumptions and a bootstrap of the test rows",
    )
    sens = roi.sensitivity(lambda moved: roi.regression_value(model_total, base_total, n, moved).npv, assumed)
    quality = _quality_rows(regression_metrics(y_true, y_pred), {}, regression_metrics(y_true, base_pred), "regression")
    words = [f"Its predictions are off by {model_total / n:.3g} on average, against {base_total / n:.3g} without it."]
    return result, uncertainty, sens, quality, words


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
