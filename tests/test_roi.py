"""The ROI model: hand-worked examples to the cent, and properties that must always hold."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.roi import (
    NO_DEVELOPMENT_COST,
    Action,
    Assumptions,
    Confusion,
    OneOffCost,
    Range,
    classification_value,
    expected_value,
    regression_value,
    valuation,
)
from reports.sensitivity import sensitivity
from reports.simulation import (
    Scored,
    Uncertainty,
    best_threshold,
    classification_replicate,
    confusion_at,
    simulate,
)
from reports.verdict import plain_quality, recommend
from tracker.money import cents

D = Decimal
# 200 test predictions, 40 of them positive (20%): the model flags 50, of whom 30 are positive.
MODEL = Confusion(tp=30, fp=20, fn=10, tn=140)
NO_MODEL = Confusion(tp=0, fp=0, fn=40, tn=160)  # nobody flagged
BASE = Assumptions(
    currency="USD",
    horizon_months=12,
    predictions_per_month=D(1000),
    running_cost_per_month=D(0),
    cloud_cost=D(1000),
    value_tp=D(84),
    value_fp=D(-6),
    value_fn=D(0),
    value_tn=D(0),
    discount_rate_annual=D(0),
)


def test_without_a_production_rate_the_test_sets_rate_is_used() -> None:
    # (30 * 84 + 20 * -6) / 200 = 2400 / 200
    assert expected_value(MODEL, BASE) == D(12)
    assert MODEL.positive_rate == D("0.2")


def test_the_production_rate_reweights_the_class_conditional_rates() -> None:
    a = replace(BASE, production_positive_rate=D("0.05"))
    # TPR = 30/40 = 0.75, FPR = 20/160 = 0.125
    # 0.05 * (0.75 * 84 + 0.25 * 0) + 0.95 * (0.125 * -6 + 0.875 * 0) = 3.15 - 0.7125
    assert expected_value(MODEL, a) == D("2.4375")
    result = classification_value(MODEL, NO_MODEL, a)
    assert cents(result.monthly_benefit) == D("2437.50")
    # At 20% the same model was worth 12.00 a prediction: the prior alone takes 80% off.
    assert classification_value(MODEL, NO_MODEL, BASE).monthly_benefit == D(12000)


def test_the_baseline_uses_the_same_prior() -> None:
    a = replace(BASE, value_fn=D(-10), production_positive_rate=D("0.05"))
    # No model: TPR = FPR = 0, so 0.05 * -10 + 0.95 * 0
    assert expected_value(NO_MODEL, a) == D("-0.5")


def test_the_action_template_implies_the_outcome_values() -> None:
    a = replace(BASE, action=Action(value_if_caught=D(120), success_rate=D("0.75"), action_cost=D(6)))
    # TP = 0.75 * 120 - 6 = 84, FP = -6, FN = TN = 0
    assert a.outcome_values() == (D(84), D(-6), D(0), D(0))
    assert a.value_of_a_catch == D(84)
    assert expected_value(MODEL, a) == D(12)
    # The explicit matrix of the old example counted each catch twice: +40 kept and -40 lost.
    assert replace(BASE, value_tp=D(40), value_fn=D(-40)).value_of_a_catch == D(80)


def test_npv_with_ramp_up_by_hand() -> None:
    a = replace(
        BASE,
        horizon_months=4,
        running_cost_per_month=D(100),
        ramp_up_months=2,
        discount_rate_annual=D("0.12"),
        cloud_cost=D(1500),
        one_off_costs=(OneOffCost("analyst", D(500)),),
    )
    # Benefit 1000 a month at full ramp: 500 in month 1, then 1000. Net cash flows 400, 900, 900, 900.
    result = valuation(D(1), D(0), a)
    assert result.monthly_benefit == D(1000)
    assert result.development_cost == D(2000)  # cloud + one-off
    assert result.gross_benefit == D(3500)
    assert result.net_benefit == D(1100)  # 3500 - 2000 - 400
    # -2000 + 400/1.12^(1/12) + 900/1.12^(2/12) + 900/1.12^(3/12) + 900/1.12^(4/12) = 1020.8948...
    assert cents(result.npv_all_costs) == D("1020.89")
    # The cloud spend (1,500) is already spent: the forward NPV counts only the analyst still to pay.
    assert (result.cost_spent, result.cost_to_come) == (D(1500), D(500))
    assert cents(result.npv) == D("2520.89")
    # Cumulative 400, 1300, 2200: the 2000 is reached 700/900 of the way through month 3.
    assert result.payback_months is not None
    assert result.payback_months.quantize(D("0.0001")) == D("2.7778")
    assert result.roi == D(1100) / D(2400)


def test_no_development_cost_means_no_roi_but_npv_still_shown() -> None:
    for cloud in (None, D(0), D(-50)):  # none found, zero, credits beyond usage
        result = classification_value(MODEL, NO_MODEL, replace(BASE, cloud_cost=cloud))
        assert result.roi is None and result.roi_reason == NO_DEVELOPMENT_COST
        assert result.npv > 0 and result.net_benefit > 0
        decision, reason = recommend(result, D(1), 1000)
        assert decision == "No verdict" and "no development cost" in reason.lower()
    # One-off costs alone are a development cost.
    with_people = replace(BASE, cloud_cost=None, one_off_costs=(OneOffCost("people", D(3000)),))
    assert classification_value(MODEL, NO_MODEL, with_people).roi is not None


def test_a_worse_model_never_pays_back_and_is_not_deployed() -> None:
    worse = Confusion(tp=5, fp=100, fn=35, tn=60)
    result = classification_value(worse, NO_MODEL, BASE)
    assert result.uplift_per_prediction < 0 and result.payback_months is None
    assert result.break_even_predictions_per_month is None
    assert recommend(result, D(0), 1000)[0] == "Do not deploy"


def test_the_recommendation_says_what_its_probability_is_conditional_on() -> None:
    result = classification_value(MODEL, NO_MODEL, BASE)
    decision, reason = recommend(result, D("0.996"), 1000)
    assert decision == "Deploy" and "99.6% of 1,000" in reason and "ranges" in reason
    assert recommend(result, D("0.7"), 1000)[0] == "Deploy and monitor"


def test_regression_value_of_avoided_error() -> None:
    a = replace(BASE, value_per_unit_error=D("2.5"))
    result = regression_value(D(300), D(500), D(100), a)
    assert result.value_per_prediction_model == D("-7.5")
    assert result.uplift_per_prediction == D(5)  # (500 - 300) / 100 * 2.5


def test_sensitivity_uses_each_range_or_twenty_percent() -> None:
    a = replace(BASE, ranges={"predictions_per_month": Range(D(500), D(1000), D(4000))})
    rows = {s.assumption: s for s in sensitivity(lambda m: classification_value(MODEL, NO_MODEL, m).npv, a)}
    volume = rows["predictions per month"]
    assert (volume.low_value, volume.high_value, volume.ranged) == (D(500), D(4000), True)
    assert volume.npv_high == classification_value(MODEL, NO_MODEL, replace(a, predictions_per_month=D(4000))).npv
    tp = rows["value of a true positive"]
    assert (tp.low_value, tp.high_value, tp.ranged) == (D("67.2"), D("100.8"), False)
    # Largest effect first.
    spreads = [s.spread for s in rows.values()]
    assert spreads == sorted(spreads, reverse=True)


def test_plain_words() -> None:
    assert plain_quality(MODEL, "customers who leave") == [
        "It flags 75 of every 100 customers who leave.",
        "40 of every 100 of its alerts are false alarms.",
    ]


# -- the decision threshold and the simulation --------------------------------------------------------


def _scored(seed: int, n: int) -> Scored:
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.3).astype(int)
    scores = np.clip(rng.normal(0.35 + 0.3 * truth, 0.2), 0, 1).round(3)
    return Scored.of(list(truth), list(scores))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 60))
def test_the_threshold_is_the_best_candidate_and_reproduces_its_decisions(seed: int, n: int) -> None:
    val = _scored(seed, n)
    a = replace(BASE, production_positive_rate=D("0.1"))
    chosen = best_threshold(val, a)
    best = expected_value(confusion_at(val, chosen), a)
    for candidate in val.candidates():
        assert expected_value(confusion_at(val, float(candidate)), a) <= best
    # The published text of the threshold reads back as the same decisions.
    assert confusion_at(val, float(repr(chosen))) == confusion_at(val, chosen)


def test_the_monte_carlo_is_seeded_and_ordered() -> None:
    test, val = _scored(1, 400), _scored(2, 400)
    a = replace(BASE, ranges={"value_tp": Range(D(60), D(84), D(100))}, production_positive_rate=D("0.1"))
    replicate = classification_replicate(test, val, np.zeros(400, dtype=np.int64))

    def run(seed: int) -> Uncertainty:
        return simulate(a, replicate, test_rows=400, val_rows=400, replicates=200, seed=seed, method="m")

    first, again, other = run(7), run(7), run(8)
    assert first == again and first != other
    assert first.npv_p10 <= first.npv_p50 <= first.npv_p90
    assert first.varied == ("value_tp",)
    assert D(0) <= first.probability_npv_positive <= D(1)


# -- properties -----------------------------------------------------------------------------------------

money = st.decimals(min_value=-200, max_value=200, places=2)
counts = st.integers(min_value=0, max_value=500)


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=1, max_value=10_000, places=2),
    st.decimals(min_value=0, max_value=500, places=2),
    st.integers(1, 120),
    st.integers(0, 24),
    st.decimals(min_value=0, max_value="0.9", places=3),
    st.decimals(min_value="0.001", max_value="0.5", places=3),
)
def test_npv_falls_as_the_discount_rate_rises(benefit, running, horizon, ramp, rate, more) -> None:
    a = replace(BASE, horizon_months=horizon, ramp_up_months=ramp, running_cost_per_month=running)
    # When every month gains (benefit above the running cost from month 1), later money is worth less.
    if benefit * min(D(1), D(1) / D(max(ramp, 1))) <= running:
        return
    low = valuation(benefit / 1000, D(0), replace(a, discount_rate_annual=rate)).npv
    high = valuation(benefit / 1000, D(0), replace(a, discount_rate_annual=rate + more)).npv
    assert high < low


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-50, max_value=50, places=4), money, st.integers(1, 240), counts)
def test_at_zero_rate_without_ramp_npv_is_the_net_benefit(uplift, running, horizon, cloud) -> None:
    a = replace(BASE, horizon_months=horizon, running_cost_per_month=abs(running), cloud_cost=D(cloud))
    result = valuation(uplift, D(0), a)
    assert cents(result.npv_all_costs) == cents(result.net_benefit)
    # The cloud spend is sunk: the forward NPV is the same flows without it.
    assert result.npv == result.npv_all_costs + D(cloud)


@settings(max_examples=200, deadline=None)
@given(counts, counts, counts, counts, money, money, money, money, st.integers(1, 50))
def test_scaling_every_value_by_k_scales_the_benefit_by_k(tp, fp, fn, tn, v1, v2, v3, v4, k) -> None:
    model = Confusion(tp, fp, fn, tn)
    if model.n == 0:
        return
    a = replace(BASE, value_tp=v1, value_fp=v2, value_fn=v3, value_tn=v4, production_positive_rate=D("0.07"))
    scaled = replace(a, value_tp=v1 * k, value_fp=v2 * k, value_fn=v3 * k, value_tn=v4 * k)
    base = classification_value(model, NO_MODEL, a).monthly_benefit
    assert abs(classification_value(model, NO_MODEL, scaled).monthly_benefit - base * k) < D("1e-12")
