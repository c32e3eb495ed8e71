"""The ROI model: pure functions, no I/O, exact money.

The expected-value framework. Each prediction outcome has a value (a true positive is worth
+40, a false negative costs 40, ...). A model's expected value per prediction is its
outcome rates times those values; the baseline's is the same for what happens without
the model. The difference, times the volume of predictions, is the monthly benefit; less
what the model cost to build (the development spend) and to run, over a horizon, is the
net benefit. Every figure here is a ``Decimal``; nothing is a float until it is drawn.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

__all__ = [
    "Confusion",
    "RoiInputs",
    "RoiResult",
    "Sensitivity",
    "Uncertainty",
    "best_threshold",
    "bootstrap",
    "classification_roi",
    "compute_roi",
    "confusion_at",
    "count_outcomes",
    "plain_quality",
    "recommend",
    "regression_roi",
    "sensitivity",
]

@dataclass(frozen=True)
class Confusion:
    """Outcome counts of binary predictions (or, for regression, the summed absolute errors)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


@dataclass(frozen=True)
class RoiInputs:
    """The assumptions: outcome values, volume, horizon, costs. Money in one currency."""

    currency: str
    horizon_months: int
    predictions_per_month: Decimal
    running_cost_per_month: Decimal
    development_cost: Decimal | None
    # Classification: money per prediction with each outcome.
    value_tp: Decimal = Decimal(0)
    value_fp: Decimal = Decimal(0)
    value_fn: Decimal = Decimal(0)
    value_tn: Decimal = Decimal(0)
    # Regression: money per unit of absolute error avoided.
    value_per_unit_error: Decimal = Decimal(0)


@dataclass(frozen=True)
class RoiResult:
    """Every output figure, exact. ``None`` means undefined, and ``reason`` says why."""

    value_per_prediction_model: Decimal
    value_per_prediction_baseline: Decimal
    uplift_per_prediction: Decimal
    monthly_benefit: Decimal
    development_cost: Decimal | None
    running_cost: Decimal
    total_cost: Decimal
    gross_benefit: Decimal
    net_benefit: Decimal
    roi: Decimal | None
    payback_months: Decimal | None
    break_even_predictions_per_month: Decimal | None
    roi_undefined_reason: str | None = None
    payback_reason: str | None = None
    break_even_reason: str | None = None


def value_per_prediction(counts: Confusion, inputs: RoiInputs) -> Decimal:
    """Expected value of one prediction: outcome rates times outcome values."""
    if counts.n == 0:
        return Decimal(0)
    total = (
        counts.tp * inputs.value_tp
        + counts.fp * inputs.value_fp
        + counts.fn * inputs.value_fn
        + counts.tn * inputs.value_tn
    )
    return total / Decimal(counts.n)


def compute_roi(
    uplift_per_prediction: Decimal, model_value: Decimal, baseline_value: Decimal, inputs: RoiInputs
) -> RoiResult:
    """Monthly benefit, costs, net benefit, ROI, payback and break-even from the uplift per prediction."""
    horizon = Decimal(inputs.horizon_months)
    monthly_benefit = uplift_per_prediction * inputs.predictions_per_month
    running = inputs.running_cost_per_month * horizon
    development = inputs.development_cost
    total_cost = (development or Decimal(0)) + running
    gross = monthly_benefit * horizon
    net = gross - total_cost
    roi: Decimal | None = None
    roi_reason: str | None = None
    if development is None:
        roi_reason = "undefined: no spend was found for the project, so there is nothing to return on"
    elif development == 0:
        roi_reason = "undefined: the recorded spend is zero"
    elif total_cost == 0:
        roi_reason = "undefined: the total cost is zero"
    else:
        roi = net / total_cost
    monthly_net = monthly_benefit - inputs.running_cost_per_month
    payback: Decimal | None = None
    payback_reason: str | None = None
    if development is None:
        payback_reason = "undefined: no spend was found for the project"
    elif monthly_net <= 0:
        payback_reason = "never: the monthly benefit does not exceed the running cost"
    else:
        payback = development / monthly_net
    break_even: Decimal | None = None
    break_even_reason: str | None = None
    if uplift_per_prediction <= 0:
        break_even_reason = "none: the model is worth no more per prediction than the baseline"
    else:
        break_even = total_cost / (uplift_per_prediction * horizon)
    return RoiResult(
        value_per_prediction_model=model_value,
        value_per_prediction_baseline=baseline_value,
        uplift_per_prediction=uplift_per_prediction,
        monthly_benefit=monthly_benefit,
        development_cost=development,
        running_cost=running,
        total_cost=total_cost,
        gross_benefit=gross,
        net_benefit=net,
        roi=roi,
        payback_months=payback,
        break_even_predictions_per_month=break_even,
        roi_undefined_reason=roi_reason,
        payback_reason=payback_reason,
        break_even_reason=break_even_reason,
    )


def classification_roi(model: Confusion, baseline: Confusion, inputs: RoiInputs) -> RoiResult:
    model_value = value_per_prediction(model, inputs)
    baseline_value = value_per_prediction(baseline, inputs)
    return compute_roi(model_value - baseline_value, model_value, baseline_value, inputs)


def regression_roi(model_abs_error: Decimal, baseline_abs_error: Decimal, n: int, inputs: RoiInputs) -> RoiResult:
    """Each unit of absolute error costs ``value_per_unit_error``; the model avoids some of it."""
    model_value = -inputs.value_per_unit_error * model_abs_error / Decimal(n)
    baseline_value = -inputs.value_per_unit_error * baseline_abs_error / Decimal(n)
    return compute_roi(model_value - baseline_value, model_value, baseline_value, inputs)


# -- binary decisions ------------------------------------------------------------------------


def outcomes_of(y_true: Sequence[int], y_score: Sequence[float], threshold: float) -> list[str]:
    """Each prediction's outcome (``"tp"``, ``"fp"``, ``"fn"``, ``"tn"``) when scores at or above ``threshold`` flag."""
    out = []
    for truth, score in zip(y_true, y_score, strict=True):
        flagged = score >= threshold
        out.append(("tp" if flagged else "fn") if truth == 1 else ("fp" if flagged else "tn"))
    return out


def confusion_at(y_true: Sequence[int], y_score: Sequence[float], threshold: float) -> Confusion:
    return count_outcomes(outcomes_of(y_true, y_score, threshold))


def best_threshold(y_true: Sequence[int], y_score: Sequence[float], inputs: RoiInputs) -> float:
    """The decision threshold with the highest expected value on these (validation) predictions.

    Candidates are 0.5 and every distinct score; ties go to the threshold closest to 0.5.
    """
    candidates = sorted({0.5, *(float(s) for s in y_score)})
    best = (Decimal("-Infinity"), 0.0, 0.5)
    for threshold in candidates:
        value = value_per_prediction(confusion_at(y_true, y_score, threshold), inputs)
        key = (value, -abs(threshold - 0.5), threshold)
        if key[:2] > best[:2]:
            best = key
    return best[2]


# -- uncertainty and sensitivity -------------------------------------------------------------


@dataclass(frozen=True)
class Uncertainty:
    """A seeded bootstrap over the test predictions."""

    replicates: int
    seed: int
    roi_p10: Decimal | None
    roi_p50: Decimal | None
    roi_p90: Decimal | None
    net_p10: Decimal
    net_p50: Decimal
    net_p90: Decimal
    probability_roi_positive: Decimal


def _percentile(sorted_values: list[Decimal], q: int) -> Decimal:
    """Nearest-rank percentile: an actual replicate, so it stays an exact Decimal."""
    rank = max(1, -(-q * len(sorted_values) // 100))
    return sorted_values[rank - 1]


def bootstrap(
    n: int,
    evaluate: Callable[[list[int]], RoiResult],
    *,
    replicates: int = 1000,
    seed: int = 42,
) -> Uncertainty:
    """Resample the ``n`` test predictions with replacement, ``replicates`` times, seeded.

    ``evaluate`` gives the ROI result of one resample (a list of row indices), with the
    model and the baseline judged on the same rows.
    """
    rng = random.Random(seed)
    rois: list[Decimal] = []
    nets: list[Decimal] = []
    positive = 0
    for _ in range(replicates):
        result = evaluate([rng.randrange(n) for _ in range(n)])
        nets.append(result.net_benefit)
        if result.roi is not None:
            rois.append(result.roi)
        positive += result.net_benefit > 0
    nets.sort()
    rois.sort()
    return Uncertainty(
        replicates=replicates,
        seed=seed,
        roi_p10=_percentile(rois, 10) if rois else None,
        roi_p50=_percentile(rois, 50) if rois else None,
        roi_p90=_percentile(rois, 90) if rois else None,
        net_p10=_percentile(nets, 10),
        net_p50=_percentile(nets, 50),
        net_p90=_percentile(nets, 90),
        probability_roi_positive=Decimal(positive) / Decimal(replicates),
    )


def count_outcomes(outcomes: Sequence[str], rows: Sequence[int] | None = None) -> Confusion:
    tallies = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for i in rows if rows is not None else range(len(outcomes)):
        tallies[outcomes[i]] += 1
    return Confusion(**tallies)


@dataclass(frozen=True)
class Sensitivity:
    """ROI (or net benefit, when ROI is undefined) with one assumption 20% down and 20% up."""

    assumption: str
    low: Decimal | None
    high: Decimal | None


ASSUMPTIONS = {
    "value of a true positive": "value_tp",
    "value of a false positive": "value_fp",
    "value of a false negative": "value_fn",
    "value of a true negative": "value_tn",
    "value per unit of error avoided": "value_per_unit_error",
    "predictions per month": "predictions_per_month",
    "running cost per month": "running_cost_per_month",
    "development cost": "development_cost",
}


def sensitivity(
    evaluate: Callable[[RoiInputs], RoiResult], inputs: RoiInputs, *, swing: Decimal = Decimal("0.2")
) -> tuple[str, list[Sensitivity]]:
    """Each assumption moved ``swing`` down and up, the others held; largest effect first.

    The figure is ROI when it is defined, else the net benefit; its name is returned first.
    """
    figure = "roi" if evaluate(inputs).roi is not None else "net_benefit"

    def measure(moved: RoiInputs) -> Decimal | None:
        result = evaluate(moved)
        return result.roi if figure == "roi" else result.net_benefit

    out: list[Sensitivity] = []
    for label, field in ASSUMPTIONS.items():
        current = getattr(inputs, field)
        if current is None or current == 0:
            continue
        low, high = (measure(replace(inputs, **{field: current * factor})) for factor in (1 - swing, 1 + swing))
        out.append(Sensitivity(label, low, high))
    months = (max(1, round(inputs.horizon_months * float(1 - swing))), round(inputs.horizon_months * float(1 + swing)))
    low, high = (measure(replace(inputs, horizon_months=m)) for m in months)
    out.append(Sensitivity(f"horizon ({months[0]} and {months[1]} months)", low, high))

    def spread(s: Sensitivity) -> Decimal:
        return Decimal(0) if s.low is None or s.high is None else abs(s.high - s.low)

    out.sort(key=spread, reverse=True)
    return figure, out


# -- the recommendation ------------------------------------------------------------------------


def recommend(result: RoiResult, uncertainty: Uncertainty | None) -> tuple[str, str]:
    """(decision, one-sentence reason), by the documented rule.

    * **Deploy** when the net benefit is positive in at least 90% of the bootstrap resamples
      (its 10th percentile is above zero).
    * **Deploy and monitor** when the net benefit is positive, but less surely so.
    * **Do not deploy** when the net benefit is zero or negative.
    """
    net = result.net_benefit
    if net <= 0:
        return "Do not deploy", "Over the horizon, the model's benefit does not cover what it costs to build and run."
    if uncertainty is not None and uncertainty.net_p10 > 0:
        return "Deploy", (
            f"The net benefit is positive in {uncertainty.probability_roi_positive:.0%} of resampled test sets, "
            "so the gain is unlikely to be luck."
        )
    return "Deploy and monitor", (
        "The expected net benefit is positive, but in some resampled test sets it is not, so watch the live results."
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
        one_in = round(alerts / counts.fp)
        sentences.append(f"1 alert in {one_in} is a false alarm.")
    elif alerts:
        sentences.append("None of its alerts on the test set was a false alarm.")
    return sentences
