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
from tracker.config import Assumed, Estimate, likely, source_and_owner
from tracker.errors import ConfigError, TrackerError
from tracker.metrics import EXPECTED_VALUE, classification_metrics, regression_metrics
from tracker.money import grouped
from tracker.record.layout import val_metric
from tracker.value import Baseline, baseline_of

if TYPE_CHECKING:
    from reports.gather import Evidence
    from tracker.config import RoiConfig, Settings

__all__ = ["Analysis", "Decision", "Registered", "analyse", "basis", "estimated_alongside"]

# Billed and estimated spend further apart than this are worth a word on page 1.
SPEND_MISMATCH = Decimal(10)
# Plausibility: figures past these are more likely a typo than a business case.
VOLUME_PER_TEST_ROW = Decimal(100)
DEVELOPMENT_SHARE_OF_A_MONTH = Decimal("0.01")
ROI_PLAUSIBLE = Decimal(100)  # 10,000%


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
class Registered:
    """One line of the assumptions register: what was assumed, where it comes from, who owns it."""

    name: str
    value: Decimal
    low: Decimal | None
    high: Decimal | None
    source: str | None
    owner: str | None
    measured: bool
    unit: str  # "money", "rate", "count", "months", "percent a year"


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
    notes = _notes(evidence, a, settings, decision)
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
        sensitivity=roi.sensitivity(lambda moved: valued.npv_of(moved, decision).npv, a),
        decision=decision,
        quality=valued.quality,
        words=valued.words,
        notes=notes,
        recommendation=decision_text,
        reason=reason,
        warnings=_warnings(evidence, a, settings, result, decision),
        spend_basis=basis(evidence),
        range_labels={name: label for name, label, _ in roi.numeric_assumptions(a)},
        baseline=baseline,
        alternative=alternative,
        alternative_result=alternative_result,
        scenarios=roi.scenarios(lambda moved: valued.npv_of(moved, decision).npv, a),
        operations=roi.operations(decision.model, a, capacity_binds=decision.capacity_binds) if decision else None,
        register=_register(settings, evidence, a, decision),
        credit_surplus=_credit_surplus(evidence),
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

    def take(name: str, value: Assumed | None, default: Decimal = Decimal(0)) -> Decimal:
        if value is None:
            return default
        if isinstance(value, Estimate):
            ranges[name] = roi.Range(value.low, value.likely, value.high)
        return likely(value)

    values = r.value_per_outcome
    baseline = baseline_of(r)
    if evidence.task == "regression" and baseline.kind in ("act_on_all", "act_on_share"):
        raise ConfigError(
            "roi.baseline: act_on_all and act_on_share are for a classifier; a regression is valued against "
            "no_action (the training mean) or another {run: RUN_ID} / {model: 'NAME@alias'}"
        )
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
        # Credits beyond usage floor the cloud cost at zero; they never reduce another cost.
        cloud_cost=max(evidence.spend.total, Decimal(0)) if evidence.spend.rows else None,
        one_off_costs=tuple(
            roi.OneOffCost(c.name, take(f"one_off_costs.{c.name}", c.amount), c.spent) for c in r.one_off_costs
        ),
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
        baseline=baseline,
        capacity_per_month=r.capacity_per_month,
        ranges=ranges,
    )


def _credit_surplus(evidence: Evidence) -> Decimal:
    spend = evidence.spend
    return max(-spend.total, Decimal(0)) if spend.rows else Decimal(0)


def basis(evidence: Evidence) -> str:
    """Whether the development spend is billed or estimated."""
    spend = evidence.spend
    return "estimated" if spend.estimated or spend.source == "estimate" else "billed"


def double_counting(roi_config: RoiConfig) -> bool:
    """A positive value for a catch and a negative one for a miss usually count one customer twice."""
    v = roi_config.value_per_outcome
    return v is not None and likely(v.false_negative) < 0 and likely(v.true_positive) > 0


def _warnings(
    evidence: Evidence,
    assumptions: roi.Assumptions,
    settings: Settings,
    result: roi.Valuation,
    decision: Decision | None,
) -> tuple[str, ...]:
    """What a finance reader must see on page 1 before trusting the figures."""
    out = list(evidence.spend.warnings)
    cur = assumptions.currency
    w = evidence.window
    on_purpose = settings.cost.window_reason is not None
    if not w.overlaps_runs and not on_purpose:
        out.append(
            f"The spend window {w.start or 'from the start'} to {w.end or 'today'} does not overlap the runs "
            f"({w.runs_first} to {w.runs_last}); the development cost may belong to something else. If the "
            "window was chosen on purpose, say why in cost.window_reason."
        )
    if assumptions.cloud_cost is None:
        out.append("No cloud spend was found for the project's tags in the spend window.")
    elif evidence.spend.total < 0:
        surplus = grouped(-evidence.spend.total)
        out.append(
            f"Credits and refunds exceed the cloud usage by {surplus} {cur}: the cloud cost counts as 0.00 {cur}, "
            "and the surplus reduces no other cost."
        )
    estimated = estimated_alongside(evidence)
    billed = assumptions.cloud_cost
    comparable = cur == "USD"  # the sweep's estimate is priced in USD
    if estimated is not None and billed is not None and comparable and not on_purpose and (billed > 0 or estimated > 0):
        low, high = sorted((abs(billed), abs(estimated)))
        if low == 0 or high / low > SPEND_MISMATCH:
            out.append(
                f"Billed spend ({grouped(billed)} {cur}) and the sweep's estimate from trial durations "
                f"({grouped(estimated)} USD) differ more than {SPEND_MISMATCH}-fold: check that the tags and the "
                "window select this project's work, or say why in cost.window_reason."
            )
    if evidence.task == "classification" and double_counting(settings.roi):
        out.append(
            "The value model gives a catch a positive value and a miss a negative one, so each catch counts "
            f"{grouped(assumptions.value_of_a_catch)} {cur}: usually the same customer twice. "
            "Value each outcome against doing nothing, or use roi.action."
        )
    out.extend(plausibility(evidence, assumptions, result))
    if decision is not None and decision.capacity_binds:
        out.append(
            f"The capacity of {grouped(assumptions.capacity_per_month or Decimal(0), 0)} actions a month binds: "
            "the threshold was raised to stay within it, and the value is what that capacity can earn."
        )
    return tuple(out)


def plausibility(evidence: Evidence, assumptions: roi.Assumptions, result: roi.Valuation) -> list[str]:
    """Figures more likely a typo than a business case: each a warning on page 1 and on the terminal."""
    out = []
    cur = assumptions.currency
    test_rows = Decimal(len(evidence.test))
    volume = assumptions.predictions_per_month
    if test_rows and volume > VOLUME_PER_TEST_ROW * test_rows:
        out.append(
            f"Implausible volume: {grouped(volume, 0)} predictions a month is more than {VOLUME_PER_TEST_ROW:.0f} "
            f"times the {grouped(test_rows, 0)} rows the model was evaluated on; check roi.predictions_per_month."
        )
    development = result.development_cost
    if development is not None and development > 0:
        if development < Decimal("0.01"):
            out.append(
                f"Implausible development cost: {development:.6f} {cur} is below one cent; the spend found is "
                "probably not this project's (check the cost source, its tags and its window) or people's time "
                "is missing from roi.one_off_costs."
            )
        elif result.monthly_benefit > 0 and development < DEVELOPMENT_SHARE_OF_A_MONTH * result.monthly_benefit:
            out.append(
                f"Implausible development cost: {grouped(development)} {cur} is less than 1% of one month's "
                f"benefit ({grouped(result.monthly_benefit)} {cur}); is people's time in roi.one_off_costs?"
            )
    if result.roi is not None and result.roi > ROI_PLAUSIBLE:
        out.append(
            f"Implausible return: an ROI of {grouped(100 * result.roi, 0)}% is above 10,000%; check the "
            "values per outcome, the volume and the costs before acting on it."
        )
    return out


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
    if settings.cost.window_reason is not None:
        out.append(f"The spend window and tags were chosen on purpose: {settings.cost.window_reason}")
    if evidence.running is not None:
        months = ", ".join(evidence.running.months)
        out.append(f"Running cost measured from the bill: the average of {months}.")
    return tuple(out)


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


# -- the assumptions register ---------------------------------------------------------------------


def _register(
    settings: Settings, evidence: Evidence, a: roi.Assumptions, decision: Decision | None
) -> tuple[Registered, ...]:
    """Every assumption with its value or range, where it comes from, who owns it, measured or stated."""
    r = settings.roi
    out: list[Registered] = []

    def stated(name: str, config_value: Assumed | None, value: Decimal, unit: str) -> None:
        source, owner = source_and_owner(config_value)
        rng = config_value if isinstance(config_value, Estimate) else None
        out.append(
            Registered(
                name,
                value,
                rng.low if rng else None,
                rng.high if rng else None,
                source or "stated in the config",
                owner,
                False,
                unit,
            )
        )

    def measured(name: str, value: Decimal, source: str, unit: str) -> None:
        out.append(Registered(name, value, None, None, source, None, True, unit))

    if r.action is not None:
        stated("value if caught", r.action.value_if_caught, likely(r.action.value_if_caught), "money")
        stated("success rate of the action", r.action.success_rate, likely(r.action.success_rate), "rate")
        stated("cost of one action", r.action.action_cost, likely(r.action.action_cost), "money")
    elif r.value_per_outcome is not None and evidence.task == "classification":
        v = r.value_per_outcome
        for label, given in (
            ("value of a true positive", v.true_positive),
            ("value of a false positive", v.false_positive),
            ("value of a false negative", v.false_negative),
            ("value of a true negative", v.true_negative),
        ):
            stated(label, given, likely(given), "money")
    if evidence.task == "regression" and r.value_per_unit_error is not None:
        stated("value per unit of error avoided", r.value_per_unit_error, likely(r.value_per_unit_error), "money")
    if decision is not None:
        if r.production_positive_rate is not None:
            stated("production positive rate", r.production_positive_rate, likely(r.production_positive_rate), "rate")
        else:
            measured("production positive rate", decision.test_positive_rate, "the test set's own rate", "rate")
        test_rows = f"the test set ({decision.model.n:,} rows) at the threshold"
        measured("model's true-positive rate", decision.model.tpr, test_rows, "rate")
        measured("model's false-positive rate", decision.model.fpr, test_rows, "rate")
    stated("predictions per month", r.predictions_per_month, a.predictions_per_month, "count")
    if evidence.running is not None:
        months = ", ".join(evidence.running.months)
        measured("running cost per month", a.running_cost_per_month, f"the bill, average of {months}", "money")
    else:
        stated("running cost per month", r.running_cost_per_month, a.running_cost_per_month, "money")
    if a.cloud_cost is not None:
        measured("cloud spend (development)", a.cloud_cost, f"{basis(evidence)}, {evidence.spend.source}", "money")
    for cost, configured in zip(a.one_off_costs, r.one_off_costs, strict=True):
        source, owner = configured.source, configured.owner
        if source is None and owner is None:
            source, owner = source_and_owner(configured.amount)
        rng = configured.amount if isinstance(configured.amount, Estimate) else None
        status = "spent" if cost.spent else "to come"
        out.append(
            Registered(
                f"one-off: {cost.name} ({status})",
                cost.amount,
                rng.low if rng else None,
                rng.high if rng else None,
                source or "stated in the config",
                owner,
                False,
                "money",
            )
        )
    stated("discount rate (annual)", r.discount_rate_annual, a.discount_rate_annual, "rate")
    out.append(
        Registered(
            "ramp-up (months)", Decimal(a.ramp_up_months), None, None, "stated in the config", None, False, "months"
        )
    )
    out.append(
        Registered(
            "horizon (months)", Decimal(a.horizon_months), None, None, "stated in the config", None, False, "months"
        )
    )
    if a.capacity_per_month is not None:
        out.append(
            Registered(
                "capacity (actions a month)",
                a.capacity_per_month,
                None,
                None,
                "stated in the config",
                None,
                False,
                "count",
            )
        )
    return tuple(out)


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
