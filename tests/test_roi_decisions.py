"""The deploy decision as a CFO reads it: against today's practice, on the money still to spend.

Hand-worked to the cent on the worked example's own figures (the champion of the
12-trial sweep of `examples/marketing.yaml`: 37 true positives, 97 false positives, 15
false negatives and 304 true negatives on the 453 test rows), and properties that hold
for any values.
"""

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
    Baseline,
    Confusion,
    OneOffCost,
    Range,
    classification_value,
    npv_factors,
    operations,
)
from reports.sensitivity import scenarios, sensitivity
from reports.simulation import Scored, best_threshold, confusion_at
from reports.verdict import plain_quality, recommend
from tracker.money import cents
from tracker.value import action_rate

D = Decimal
CHAMPION = Confusion(tp=37, fp=97, fn=15, tn=304)
EXAMPLE = Assumptions(
    currency="USD",
    horizon_months=24,
    predictions_per_month=D(2000),
    running_cost_per_month=D("383.548595"),  # the serving tag's November, exactly as the sample bill sums it
    cloud_cost=D("271.879016"),  # the project's usage, a credit of -150.00 and tax, exactly
    one_off_costs=(OneOffCost("data scientist (3 weeks)", D(9000)), OneOffCost("CRM integration", D(4000))),
    action=Action(value_if_caught=D(120), success_rate=D("0.75"), action_cost=D(6)),
    production_positive_rate=D("0.08"),
    discount_rate_annual=D("0.10"),
    ramp_up_months=3,
    baseline=Baseline("better_of"),
)


def _by_hand(uplift: Decimal, costs_counted: Decimal) -> Decimal:
    """The NPV written out month by month: ramp 1/3, 2/3, then full; discounted at 10% a year."""
    npv = -costs_counted
    for m in range(1, 25):
        share = min(D(1), D(m) / D(3))
        npv += (uplift * D(2000) * share - D("383.548595")) / D("1.10") ** (D(m) / D(12))
    return npv


def test_calling_everyone_is_the_baseline_of_the_worked_example() -> None:
    # Acting on everyone: 0.08 x 84 + 0.92 x -6 = 6.72 - 5.52 = 1.20 a prediction; acting on nobody: 0.
    everyone = Baseline("act_on_all").value_per_prediction(EXAMPLE.values, D("0.08"))
    assert everyone == D("1.20")
    assert Baseline("better_of").resolved(EXAMPLE.values, D("0.08")) == Baseline("act_on_all")
    # The model: 0.08 x (37/52) x 84 + 0.92 x (97/401) x -6 = 3.4523 a prediction.
    against_all = classification_value(CHAMPION, None, EXAMPLE)
    assert cents(against_all.value_per_prediction_model) == D("3.45")
    assert against_all.value_per_prediction_baseline == D("1.20")
    # Every cost counted: 71,713.57 against calling everyone, 121,573.80 against calling nobody.
    assert cents(against_all.npv_all_costs) == D("71713.57")
    assert cents(_by_hand(against_all.uplift_per_prediction, D("13271.879016"))) == D("71713.57")
    against_none = classification_value(CHAMPION, None, replace(EXAMPLE, baseline=Baseline("no_action")))
    assert cents(against_none.npv_all_costs) == D("121573.80")
    # The gap is the 1.20 a prediction calling everyone already earns, over the ramped, discounted months.
    ramped_discounted, _, _ = npv_factors(EXAMPLE)
    gap = against_none.npv_all_costs - against_all.npv_all_costs
    assert cents(gap) == cents(D("1.20") * D(2000) * ramped_discounted)


def test_values_measured_against_calling_everyone_change_the_answer() -> None:
    # Stated against calling everyone, a caught subscriber still earns 84 over nothing, but a non-subscriber
    # not called saves the 6 a call costs: the same decisions, the same money, the same NPV.
    relative = replace(
        EXAMPLE,
        action=None,
        value_tp=D(0),
        value_fp=D(0),
        value_fn=D(-84),
        value_tn=D(6),
        baseline=Baseline("better_of"),
    )
    shifted = classification_value(CHAMPION, None, relative)
    assert cents(shifted.npv_all_costs) == D("71713.57")


def test_sunk_costs_do_not_drive_the_verdict() -> None:
    # The data scientist's 150,000 is already paid, like the cloud spend; the CRM integration is still to come.
    sunk = replace(
        EXAMPLE,
        baseline=Baseline("no_action"),
        one_off_costs=(OneOffCost("data scientist", D(150_000), spent=True), OneOffCost("CRM integration", D(4000))),
    )
    result = classification_value(CHAMPION, None, sunk)
    assert (cents(result.cost_spent), result.cost_to_come) == (D("150271.88"), D(4000))
    # All costs: -19,426.20 ("was it worth it?": no). Forward: +130,845.68 (deploy: yes).
    assert cents(result.npv_all_costs) == D("-19426.20")
    assert cents(result.npv) == D("130845.68")
    assert cents(result.npv - result.npv_all_costs) == D("150271.88")
    decision, reason = recommend(result, D("0.95"), 1000)
    assert decision == "Deploy" and "forward NPV" in reason
    # The ROI stays the "was it worth it?" figure: negative.
    assert result.roi is not None and result.roi < 0
    # Its payback (154,271.88 of development) is past the 24-month horizon: no number, a sentence.
    assert result.payback_months is None and result.payback_reason == "not within the 24-month horizon"


def test_payback_beyond_the_horizon_is_not_a_number() -> None:
    # 13,271.88 of development earns back in about 4.3 months: within 24, not within 2.
    within = classification_value(CHAMPION, None, EXAMPLE)
    assert within.payback_months is not None and D(4) < within.payback_months < D(5)
    assert within.payback_months_discounted is not None
    assert within.payback_months_discounted >= within.payback_months  # later money is worth less
    short = classification_value(CHAMPION, None, replace(EXAMPLE, horizon_months=2))
    assert short.payback_months is None and short.payback_months_discounted is None
    assert short.payback_reason == "not within the 2-month horizon"


def test_no_development_cost_has_no_payback() -> None:
    free = classification_value(CHAMPION, None, replace(EXAMPLE, cloud_cost=D(0), one_off_costs=()))
    assert free.payback_months is None and free.payback_reason == NO_DEVELOPMENT_COST


def test_acting_on_a_random_share() -> None:
    # A random 25%: a quarter of the subscribers caught, a quarter of the others called: 0.25 x 1.20.
    quarter = Baseline("act_on_share", share=D("0.25"))
    assert quarter.value_per_prediction(EXAMPLE.values, D("0.08")) == D("0.30")
    assert quarter.words == "acting on a random 25% of cases"


def test_operations_at_the_production_rate() -> None:
    ops = operations(CHAMPION, EXAMPLE)
    # 2,000 x (0.08 x 37/52 + 0.92 x 97/401) = 113.85 + 445.09 = 558.94 calls a month.
    assert cents(ops.catches_per_month) == D("113.85")
    assert cents(ops.false_alarms_per_month) == D("445.09")
    assert ops.actions_per_month == ops.catches_per_month + ops.false_alarms_per_month
    assert not ops.capacity_binds


def test_false_alarms_are_quoted_at_the_production_rate() -> None:
    # At the test set's 11.5% (52 of 453), 97 of 134 alerts are false: 72 of 100.
    assert plain_quality(CHAMPION, "clients")[1] == "72 of every 100 of its alerts are false alarms."
    # At the 8% the money uses: 0.92 x 97/401 / (0.08 x 37/52 + 0.92 x 97/401) = 79.6%.
    assert plain_quality(CHAMPION, "clients", D("0.08"))[1] == "80 of every 100 of its alerts are false alarms."


def test_the_scenarios_move_every_range_together() -> None:
    ranged = replace(
        EXAMPLE,
        predictions_per_month=D(2000),
        ranges={
            "predictions_per_month": Range(D(1500), D(2000), D(2500)),
            "running_cost_per_month": Range(D(300), D("383.548595"), D(500)),
        },
    )

    def npv_of(moved: Assumptions) -> Decimal:
        return classification_value(CHAMPION, None, moved).npv

    out = scenarios(npv_of, ranged)
    assert out["base"] == npv_of(ranged)
    low = replace(ranged, predictions_per_month=D(1500), running_cost_per_month=D(300))
    assert out["low"] == npv_of(low)
    assert out["high"] == npv_of(replace(ranged, predictions_per_month=D(2500), running_cost_per_month=D(500)))


def test_the_tornado_labels_the_months_it_computed() -> None:
    rows = {s.assumption: s for s in sensitivity(lambda m: classification_value(CHAMPION, None, m).npv, EXAMPLE)}
    horizon, ramp = rows["horizon (months)"], rows["ramp-up (months)"]
    # 24 +- 20% is 19.2 to 28.8, but a horizon is whole months: 19 and 29, and the NPV is computed there.
    assert (horizon.low_value, horizon.high_value) == (D(19), D(29))
    assert horizon.npv_high == classification_value(CHAMPION, None, replace(EXAMPLE, horizon_months=29)).npv
    assert (ramp.low_value, ramp.high_value) == (D(2), D(4))


def _scored(seed: int, n: int) -> Scored:
    rng = np.random.default_rng(seed)
    truth = (rng.random(n) < 0.2).astype(int)
    scores = np.clip(rng.normal(0.3 + 0.3 * truth, 0.2), 0, 1).round(3)
    return Scored.of(list(truth), list(scores))


def test_capacity_caps_the_actions_and_says_when_it_binds() -> None:
    val = _scored(3, 400)
    free = best_threshold(val, EXAMPLE)
    rate_free = action_rate(confusion_at(val, free), EXAMPLE.values)
    capacity = (rate_free * EXAMPLE.predictions_per_month / 2).to_integral_value()
    capped = replace(EXAMPLE, capacity_per_month=capacity)
    chosen = best_threshold(val, capped)
    assert chosen > free
    assert action_rate(confusion_at(val, chosen), capped.values) * EXAMPLE.predictions_per_month <= capacity
    # A capacity above what the best threshold needs changes nothing.
    roomy = replace(EXAMPLE, capacity_per_month=EXAMPLE.predictions_per_month)
    assert best_threshold(val, roomy) == free


values = st.decimals(min_value=-500, max_value=500, places=2)
rates = st.decimals(min_value="0.001", max_value="0.999", places=3)
counts = st.integers(min_value=0, max_value=400)


@settings(max_examples=300, deadline=None)
@given(values, values, values, values, rates, counts, counts, counts, counts)
def test_the_default_baseline_is_the_better_of_doing_nothing_and_acting_on_all(
    tp, fp, fn, tn, p, c_tp, c_fp, c_fn, c_tn
) -> None:
    model = Confusion(c_tp, c_fp, c_fn, c_tn)
    a = replace(EXAMPLE, action=None, value_tp=tp, value_fp=fp, value_fn=fn, value_tn=tn, production_positive_rate=p)
    default = Baseline("better_of").value_per_prediction(a.values, p)
    nobody = Baseline("no_action").value_per_prediction(a.values, p)
    everyone = Baseline("act_on_all").value_per_prediction(a.values, p)
    assert default >= nobody and default >= everyone
    # So the model's NPV against the default never exceeds its NPV against doing nothing.
    against_default = classification_value(model, None, replace(a, baseline=Baseline("better_of")))
    against_nobody = classification_value(model, None, replace(a, baseline=Baseline("no_action")))
    assert against_default.npv <= against_nobody.npv
    assert against_default.npv_all_costs <= against_nobody.npv_all_costs
