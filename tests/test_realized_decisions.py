"""The realized report's decision, tested as a decision: its false-alarm rate and its power,
measured by drawing months from the test population; and its estimates of months whose
outcomes are not all known, by hand to the cent and against the truth."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from reports.alerts import ALPHA, drift_limits
from reports.outcomes import UNLABELLED_BINS, MonthOutcomes, read_outcomes
from reports.plan_vs_actual import Plan, realize
from tracker.value import Confusion, OutcomeValues

D = Decimal
DECILES = [q / 10 for q in range(1, 10)]
MONTHS_DRAWN = 200
VOLUME = 2000
THRESHOLD = 0.2


def population(seed: int = 7, rows: int = 453) -> tuple[np.ndarray, np.ndarray]:
    """A test set the size of the worked example's (453 clients, about 12% positive), its scores calibrated."""
    rng = np.random.default_rng(seed)
    scores = 1 / (1 + np.exp(-rng.normal(-2.4, 1.3, rows)))
    return scores, (rng.random(rows) < scores).astype(int)


def plan_for(scores: np.ndarray, truth: np.ndarray, threshold: float = THRESHOLD) -> tuple[Plan, list[float]]:
    """The plan the ROI report would make from this test set: its quality, its rate, its score deciles."""
    flag = scores >= threshold
    test = Confusion(
        int((flag & (truth == 1)).sum()), int((flag & (truth == 0)).sum()),
        int((~flag & (truth == 1)).sum()), int((~flag & (truth == 0)).sum()),
    )  # fmt: skip
    edges = sorted({float(e) for e in np.quantile(scores, DECILES)})
    bins = np.bincount(np.searchsorted(np.asarray(edges), scores, side="right"), minlength=len(edges) + 1)
    plan = Plan(
        task="classification",
        currency="USD",
        threshold=threshold,
        values=OutcomeValues(D(84), D(-6), D(0), D(0), test.positive_rate),
        planned_rate=test.positive_rate,
        test=test,
        uplift_per_prediction=D(0),
        value_per_unit_error=D(0),
        predictions_per_month=D(VOLUME),
        running_cost_per_month=D(100),
        ramp_up_months=0,
        development_cost=D(5000),
        discount_rate_annual=D("0.1"),
        test_bins=tuple(int(b) for b in bins),
        source="simulation",
    )
    return plan, edges


def month_of(
    name: str, scores: np.ndarray, truth: np.ndarray, labelled: np.ndarray, plan: Plan, edges: list[float]
) -> MonthOutcomes:
    """A month's summary, as the log reader makes it, from its rows."""
    flag = scores >= (plan.threshold or 0.5)
    known = labelled.astype(bool)

    def count(f: np.ndarray, t: int) -> int:
        return int((known & f & (truth == t)).sum())

    bins = np.bincount(np.searchsorted(np.asarray(edges), scores, side="right"), minlength=len(edges) + 1)
    fine = np.minimum(np.floor(scores * UNLABELLED_BINS), UNLABELLED_BINS - 1).astype(int)
    unlabelled = []
    for f in (False, True):
        for b in range(UNLABELLED_BINS):
            rows = ~known & (flag == f) & (fine == b)
            if rows.any():
                unlabelled.append((f, int(rows.sum()), float(scores[rows].sum())))
    return MonthOutcomes(
        name, len(scores), int(known.sum()), count(flag, 1), count(flag, 0), count(~flag, 1), count(~flag, 0),
        bins=tuple(int(b) for b in bins), flagged=int(flag.sum()),
        score_flagged=float(scores[flag].sum()), score_rest=float(scores[~flag].sum()),
        score_squares=float((scores**2).sum()), unlabelled=tuple(unlabelled),
    )  # fmt: skip


def decide(plan: Plan, month: MonthOutcomes) -> str:
    return realize(plan, [month], [(D(100), "configured")]).recommendation


def draw(rng: np.random.Generator, scores: np.ndarray, truth: np.ndarray, rate_factor: float = 1.0) -> np.ndarray:
    """A month of VOLUME rows resampled from the test population; its positives' share times ``rate_factor``."""
    if rate_factor == 1.0:
        return rng.integers(0, len(scores), VOLUME)
    positives, negatives = np.flatnonzero(truth == 1), np.flatnonzero(truth == 0)
    n_positive = rng.binomial(VOLUME, min(1.0, truth.mean() * rate_factor))
    return np.concatenate([rng.choice(positives, n_positive), rng.choice(negatives, VOLUME - n_positive)])


def simulate(
    scores: np.ndarray, truth: np.ndarray, *, rate_factor: float, seed: int, threshold: float = THRESHOLD
) -> dict[str, int]:
    """How often each recommendation comes out of MONTHS_DRAWN months drawn from this test population."""
    plan, edges = plan_for(scores, truth, threshold)
    rng = np.random.default_rng(seed)
    tally = {"keep": 0, "watch": 0, "retrain": 0}
    for _ in range(MONTHS_DRAWN):
        rows = draw(rng, scores, truth, rate_factor)
        month = month_of("2027-01", scores[rows], truth[rows], np.ones(len(rows)), plan, edges)
        tally[decide(plan, month)] += 1
    return tally


def test_healthy_months_rarely_say_retrain() -> None:
    scores, truth = population()
    tally = simulate(scores, truth, rate_factor=1.0, seed=1)
    # Drawn from the very population the model was tested on: "retrain" is a false alarm.
    assert tally["retrain"] <= 0.05 * MONTHS_DRAWN, tally
    # And the whole recommendation mostly stays "keep" (drift, base rate and plan each at 1%, or the ±10% band).
    assert tally["keep"] >= 0.8 * MONTHS_DRAWN, tally


def test_a_doubled_base_rate_is_flagged() -> None:
    scores, truth = population()
    tally = simulate(scores, truth, rate_factor=2.0, seed=2)
    assert tally["watch"] + tally["retrain"] >= 0.8 * MONTHS_DRAWN, tally


def test_a_model_that_stopped_working_says_retrain() -> None:
    # The same clients, their scores shuffled: the ranking is gone, recall falls to the flag rate.
    scores, truth = population()
    plan, edges = plan_for(scores, truth)
    rng = np.random.default_rng(3)
    retrain = 0
    for _ in range(MONTHS_DRAWN // 4):
        rows = draw(rng, scores, truth)
        month = month_of("2027-01", rng.permutation(scores[rows]), truth[rows], np.ones(VOLUME), plan, edges)
        retrain += decide(plan, month) == "retrain"
    assert retrain >= 0.8 * (MONTHS_DRAWN // 4)


def test_drift_alone_never_says_retrain() -> None:
    plan, edges = plan_for(*population())
    scores, truth = population()
    # Every score in the top decile: PSI far past any limit, but quality as tested.
    month = month_of("2027-01", scores, truth, np.ones(len(scores)), plan, edges)
    month = replace(month, bins=(0,) * (len(edges)) + (len(scores),))
    r = realize(plan, [month], [(D(100), "configured")])
    assert r.drift_status == "shifted" and r.recommendation == "watch"


def test_the_drift_limit_grows_as_the_month_shrinks() -> None:
    small, large = drift_limits(150, 453, 10), drift_limits(20_000, 453, 10)
    assert small.watch > 0.1 and large.watch == 0.1 and small.shifted > small.watch
    # Months of 150 drawn from the test set: PSI above the limit about ALPHA of the time.
    scores, truth = population()
    plan, edges = plan_for(scores, truth)
    rng = np.random.default_rng(4)
    over = 0
    for _ in range(400):
        rows = rng.integers(0, len(scores), 150)
        month = month_of("2027-01", scores[rows], truth[rows], np.ones(150), plan, edges)
        over += realize(plan, [month], [(D(0), "configured")]).months[0].drift != "stable"
    assert over <= 400 * ALPHA * 4


def test_a_month_too_small_gets_no_verdict() -> None:
    scores, truth = population()
    plan, edges = plan_for(scores, truth)
    one = month_of("2027-03", scores[:1], truth[:1], np.ones(1), plan, edges)
    r = realize(plan, [one], [(D(100), "configured")])
    assert r.drift_status == "not judged" and r.recommendation != "retrain"
    assert any("fewer than the 100 it needs" in reason for reason in r.reasons)
    assert any("Too few outcomes" in reason for reason in r.reasons)


# -- estimates of months whose outcomes are not all known ----------------------------------------------


def test_estimates_by_hand_to_the_cent(tmp_path: Path) -> None:
    (tmp_path / "log.csv").write_text(
        "timestamp,y_score,y_true\n"
        "2027-01-03T10:00:00Z,0.9,1\n"  # flagged (0.3), known: a subscriber
        "2027-01-04T10:00:00Z,0.6,\n"  # flagged, not known yet
        "2027-01-05T10:00:00Z,0.4,\n"  # flagged, not known yet
        "2027-01-06T10:00:00Z,0.2,0\n"  # not flagged, known: no
        "2027-01-07T10:00:00Z,0.1,\n"
        "2027-01-08T10:00:00Z,0.25,\n"
    )
    [month] = read_outcomes(tmp_path / "log.csv", task="classification", threshold=0.3, bin_edges=[0.5]).months
    assert (month.flagged, month.tp, month.tn, month.labelled) == (3, 1, 1, 2)
    plan, _ = plan_for(*population(), threshold=0.3)
    plan = replace(plan, test_bins=(1, 1))
    [m] = realize(plan, [month], [(D(0), "configured")]).months
    # Two of six labelled, one of them a subscriber: no sign that labels favour either outcome
    # (1 known against 2.45 x 2/6 = 0.82 expected), so each unlabelled row counts as its score.
    # Flagged: 0.6 + 0.4 = 1.0 expected subscribers among the two unknown (1.0 call wasted);
    # not flagged: 0.1 + 0.25 = 0.35 missed, 1.65 rightly left alone.
    assert (m.expected.tp, m.expected.fp, m.expected.fn, m.expected.tn) == (D(1), D(1), D("0.35"), D("1.65"))
    # Realized: 1 x 84 + 1 x 0 = 84.00; estimated 1.0 x 84 - 1.0 x 6 = 78.00. Never 84 x 6/2 = 252.
    assert (m.realized_uplift, m.estimated_uplift, m.uplift) == (D("84.00"), D("78.00"), D("162.00"))
    assert m.positive_rate == (D(1) + D(1) + D("0.35")) / D(6)


def test_labels_that_favour_positives_do_not_inflate_the_estimate() -> None:
    # Months of clients like the test set's, each outcome drawn from its (calibrated) score; the
    # labels that have arrived: 80% of the subscribers', 25% of the others'.
    scores, truth = population()
    plan, edges = plan_for(scores, truth)
    rng = np.random.default_rng(12)
    errors, naive_errors = [], []
    for _ in range(MONTHS_DRAWN):
        s, t = population(seed=int(rng.integers(2**32)), rows=VOLUME)
        labelled = np.where(t == 1, rng.random(VOLUME) < 0.8, rng.random(VOLUME) < 0.25)
        known = realize(plan, [month_of("2027-01", s, t, np.ones(VOLUME), plan, edges)], [(D(0), "configured")])
        partly = realize(plan, [month_of("2027-01", s, t, labelled, plan, edges)], [(D(0), "configured")])
        truth_value, m = known.months[0].uplift, partly.months[0]
        naive = m.realized_uplift * D(VOLUME) / D(m.labelled)
        errors.append(float(m.uplift / truth_value - 1))
        naive_errors.append(float(naive / truth_value - 1))
    # Unbiased, and within 15% of the month with every outcome known in at least 95% of months;
    # scaling the labelled rows up is never within it.
    assert abs(np.mean(errors)) <= 0.02, np.mean(errors)
    assert np.mean(np.abs(errors) <= 0.15) >= 0.95, np.quantile(np.abs(errors), [0.5, 0.95])
    assert min(np.abs(naive_errors)) > 0.15, min(np.abs(naive_errors))


def test_feature_shifts_by_hand(tmp_path: Path) -> None:
    import math

    import pandas as pd

    from reports.feature_drift import feature_shifts
    from reports.outcomes import LogOptions

    test = pd.DataFrame(
        {
            "age": [20, 25, 30, 35, 40, 45, 50, 55, 60, 65],
            "contact": ["cellular"] * 5 + ["telephone"] * 3 + ["unknown"] * 2,
        }
    )
    (tmp_path / "log.csv").write_text(
        "timestamp,y_score,y_true,age,contact\n"
        "2027-02-27T10:00:00Z,0.5,,70,cellular\n"  # another month: left out
        "2027-03-01T00:00:00Z,0.5,,70,cellular\n"
        "2027-03-09T10:00:00Z,0.5,,70,telephone\n"
        "2027-03-20T10:00:00Z,0.5,,70,unknown\n"
        "2027-03-31T23:59:59Z,0.5,1,70,unknown\n"
    )
    age, contact = feature_shifts(tmp_path / "log.csv", LogOptions(), "2027-03", test)
    # Categories 50/30/20% in the test split, 25/25/50% in March: the Jensen-Shannon divergence.
    p, q = [0.5, 0.3, 0.2], [0.25, 0.25, 0.5]
    js = sum(
        0.5 * a * math.log(a / ((a + b) / 2)) + 0.5 * b * math.log(b / ((a + b) / 2)) for a, b in zip(p, q, strict=True)
    )
    assert contact.name == "contact" and contact.measure == "JS" and contact.value == pytest.approx(js)
    assert contact.detail == "'unknown' 20% → 50%"
    # Ages one a decile in the test split, all 70 in March: 0.9 ln(1 / 0.1) in the top decile, and
    # (0.0001 - 0.1) ln(0.0001 / 0.1) in each of the nine others.
    assert age.measure == "PSI" and age.value == pytest.approx(0.9 * math.log(10) + 9 * 0.0999 * math.log(1000))
    # Largest first, on one scale: the age moved further than the channel (8 x JS against PSI).
    assert age.value > 8 * contact.value


def test_scores_that_are_not_probabilities_are_calibrated_on_validation(tmp_path: Path) -> None:
    import pandas as pd

    from reports.calibration import check_calibration, platt

    def split(seed: int, squash: bool) -> pd.DataFrame:
        scores, truth = population(seed=seed, rows=2000)
        # A model whose scores overstate every chance: the square root of the probability.
        return pd.DataFrame({"y_true": truth, "y_score": np.sqrt(scores) if squash else scores})

    calibrated, figures = check_calibration(split(1, True), split(2, True))
    assert calibrated is not None and figures.method == "platt"
    assert figures.brier_calibrated < figures.brier_as_logged and "Platt-scaled" in figures.words
    as_logged, figures = check_calibration(split(1, False), split(2, False))
    assert as_logged is None and figures.method == "none" and "used as logged" in figures.words
    # The log's SQL applies the same scaling row by row: the month's score sums are the calibrated ones.
    scores = np.array([0.9, 0.6, 0.4, 0.2])
    (tmp_path / "log.csv").write_text(
        "timestamp,y_score,y_true\n" + "".join(f"2027-01-0{i + 1}T10:00:00Z,{s},\n" for i, s in enumerate(scores))
    )
    scaling = platt(np.sqrt(split(1, False)["y_score"].to_numpy()), split(1, False)["y_true"].to_numpy())
    [month] = read_outcomes(
        tmp_path / "log.csv", task="classification", threshold=0.5, bin_edges=[0.5], calibration=scaling
    ).months
    expected = scaling.apply(scores)
    assert month.score_flagged == pytest.approx(expected[:2].sum()) and month.score_rest == pytest.approx(
        expected[2:].sum()
    )
