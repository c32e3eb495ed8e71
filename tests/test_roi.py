"""The ROI model: a hand-worked example to the cent, and properties that must always hold."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.roi import (
    Confusion,
    RoiInputs,
    best_threshold,
    bootstrap,
    classification_roi,
    confusion_at,
    count_outcomes,
    outcomes_of,
    plain_quality,
    recommend,
    regression_roi,
    sensitivity,
)
from tracker.money import cents

D = Decimal
# 200 test predictions: 50 customers left (positives), the model flagged 50 of whom 40 left.
MODEL = Confusion(tp=40, fp=10, fn=10, tn=140)
NO_MODEL = Confusion(tp=0, fp=0, fn=50, tn=150)  # nobody flagged
INPUTS = RoiInputs(
    currency="USD",
    horizon_months=12,
    predictions_per_month=D(20000),
    running_cost_per_month=D(300),
    development_cost=D(1000),
    value_tp=D(40),
    value_fp=D(-5),
    value_fn=D(-40),
    value_tn=D(0),
)


def test_hand_worked_example_to_the_cent() -> None:
    r = classification_roi(MODEL, NO_MODEL, INPUTS)
    # (40*40 + 10*-5 + 10*-40 + 140*0) / 200 = 1150 / 200
    assert r.value_per_prediction_model == D("5.75")
    # (50*-40) / 200
    assert r.value_per_prediction_baseline == D("-10")
    assert r.uplift_per_prediction == D("15.75")
    assert r.monthly_benefit == D("315000")  # 15.75 * 20000
    assert r.gross_benefit == D("3780000")  # * 12
    assert r.running_cost == D("3600")  # 300 * 12
    assert r.total_cost == D("4600")  # 1000 + 3600
    assert r.net_benefit == D("3775400")
    assert cents(r.roi) == D("820.74")  # 3775400 / 4600 = 820.7391...
    assert cents(r.payback_months) == D("0.00")  # 1000 / (315000 - 300) = 0.0032 months
    assert r.payback_months.quantize(D("0.0001")) == D("0.0032")
    assert cents(r.break_even_predictions_per_month) == D("24.34")  # 4600 / (15.75 * 12)


def test_zero_or_missing_spend_makes_roi_undefined_not_infinite() -> None:
    for spend in (None, D(0)):
        r = classification_roi(MODEL, NO_MODEL, replace(INPUTS, development_cost=spend))
        assert r.roi is None and r.roi_undefined_reason.startswith("undefined")
        assert r.net_benefit == D("3776400")  # still stated


def test_a_worse_model_never_pays_back() -> None:
    bad = Confusion(tp=2, fp=120, fn=48, tn=30)  # (80 - 600 - 1920) / 200 = -12.2 < -10
    r = classification_roi(bad, NO_MODEL, INPUTS)
    assert r.net_benefit < 0 and r.roi < 0
    assert r.payback_months is None and r.payback_reason.startswith("never")
    assert recommend(r, None)[0] == "Do not deploy"


def test_regression_value_of_avoided_error() -> None:
    inputs = replace(INPUTS, value_per_unit_error=D("2.5"))
    r = regression_roi(model_abs_error=D(300), baseline_abs_error=D(500), n=100, inputs=inputs)
    assert r.value_per_prediction_model == D("-7.5")  # -2.5 * 3
    assert r.uplift_per_prediction == D("5")  # 2.5 * (5 - 3)
    assert r.monthly_benefit == D("100000")


def test_threshold_maximises_expected_value() -> None:
    y_true = [1, 1, 1, 0, 0, 0, 0, 0]
    y_score = [0.9, 0.4, 0.35, 0.3, 0.2, 0.6, 0.1, 0.05]
    # A missed positive costs 40 and a false alarm 5: flag down to 0.35.
    assert best_threshold(y_true, y_score, INPUTS) == 0.35
    assert confusion_at(y_true, y_score, 0.35) == Confusion(tp=3, fp=1, fn=0, tn=4)


def test_plain_words() -> None:
    assert plain_quality(MODEL, "customers who leave") == [
        "It flags 80 of every 100 customers who leave.",
        "1 alert in 5 is a false alarm.",
    ]


def test_sensitivity_orders_by_effect_and_moves_each_assumption() -> None:
    figure, rows = sensitivity(lambda i: classification_roi(MODEL, NO_MODEL, i), INPUTS)
    assert figure == "roi"
    spreads = [abs(r.high - r.low) for r in rows]
    assert spreads == sorted(spreads, reverse=True)
    by_name = {r.assumption: r for r in rows}
    assert "value of a true negative" not in by_name  # zero moved by 20% is still zero
    dev = by_name["development cost"]
    assert dev.low > classification_roi(MODEL, NO_MODEL, INPUTS).roi > dev.high


def _outcomes() -> list[str]:
    return ["tp"] * 40 + ["fp"] * 10 + ["fn"] * 10 + ["tn"] * 140


def _no_model() -> list[str]:
    return ["fn"] * 40 + ["tn"] * 10 + ["fn"] * 10 + ["tn"] * 140


def test_bootstrap_is_seeded_and_centred_on_the_point_estimate() -> None:
    model, base = _outcomes(), _no_model()

    def evaluate(rows: list[int]):
        return classification_roi(count_outcomes(model, rows), count_outcomes(base, rows), INPUTS)

    first = bootstrap(len(model), evaluate, replicates=300, seed=7)
    again = bootstrap(len(model), evaluate, replicates=300, seed=7)
    assert first == again
    point = classification_roi(MODEL, NO_MODEL, INPUTS).roi
    assert first.roi_p10 < point < first.roi_p90
    assert abs(first.roi_p50 - point) / point < D("0.05")
    assert first.probability_roi_positive == 1
    decision, reason = recommend(classification_roi(MODEL, NO_MODEL, INPUTS), first)
    assert decision == "Deploy" and reason.endswith(".")


counts = st.integers(min_value=0, max_value=200)
money = st.decimals(min_value=-100, max_value=100, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(
    tp=counts, fp=counts, fn=counts, tn=counts, value=money, bump=st.decimals(min_value="0.01", max_value=50, places=2)
)
def test_roi_rises_with_the_value_of_a_true_positive(tp, fp, fn, tn, value, bump) -> None:
    model = Confusion(tp, fp, fn, tn)
    baseline = Confusion(0, 0, tp + fn, fp + tn)
    low = classification_roi(model, baseline, replace(INPUTS, value_tp=value))
    high = classification_roi(model, baseline, replace(INPUTS, value_tp=value + bump))
    if model.n and tp:
        assert high.roi > low.roi
    else:
        assert high.roi == low.roi


@settings(max_examples=200, deadline=None)
@given(
    tp=counts,
    fp=counts,
    fn=counts,
    tn=counts,
    spend=st.decimals(min_value=1, max_value=10**6, places=2),
    extra=st.decimals(min_value="0.01", max_value=10**5, places=2),
)
def test_roi_falls_with_spend_when_the_model_adds_value(tp, fp, fn, tn, spend, extra) -> None:
    model = Confusion(tp, fp, fn, tn)
    baseline = Confusion(0, 0, tp + fn, fp + tn)
    cheap = classification_roi(model, baseline, replace(INPUTS, development_cost=spend))
    dear = classification_roi(model, baseline, replace(INPUTS, development_cost=spend + extra))
    assert dear.net_benefit < cheap.net_benefit  # always
    # ROI = gross / cost - 1: it falls with spend when the model adds value at all.
    if cheap.gross_benefit > 0:
        assert dear.roi < cheap.roi
    elif cheap.gross_benefit == 0:
        assert dear.roi == cheap.roi == -1


@settings(max_examples=25, deadline=None)
@given(tp=st.integers(5, 60), fp=st.integers(0, 30), fn=st.integers(0, 30), tn=st.integers(5, 100))
def test_bootstrap_median_is_near_the_point_estimate(tp, fp, fn, tn) -> None:
    model = ["tp"] * tp + ["fp"] * fp + ["fn"] * fn + ["tn"] * tn
    base = ["fn" if o in ("tp", "fn") else "tn" for o in model]
    point = classification_roi(Confusion(tp, fp, fn, tn), count_outcomes(base), INPUTS).net_benefit

    def evaluate(rows: list[int]):
        return classification_roi(count_outcomes(model, rows), count_outcomes(base, rows), INPUTS)

    u = bootstrap(len(model), evaluate, replicates=200, seed=1)
    scale = abs(u.net_p90 - u.net_p10) + 1
    assert abs(u.net_p50 - point) <= scale / 2


def test_outcomes_of_pairs_rows() -> None:
    assert outcomes_of([1, 0, 1, 0], [0.9, 0.8, 0.1, 0.2], 0.5) == ["tp", "fp", "fn", "tn"]
