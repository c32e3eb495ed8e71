"""The stop rules as a pure policy, on trials made with optuna.trial.create_trial (no sweeps run)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from tuning.stop import StopPolicy
from tuning.trials import best_trial

START = datetime(2026, 11, 1, 12, 0, 0)


def _trial(
    number: int, value: float | None, state: TrialState = TrialState.COMPLETE, seconds: float = 60
) -> FrozenTrial:
    trial = optuna.trial.create_trial(
        state=state,
        value=value if state == TrialState.COMPLETE else None,
        params={"x": 0.5},
        distributions={"x": FloatDistribution(0, 1)},
    )
    trial.number = number
    trial.datetime_start = START
    trial.datetime_complete = None if state == TrialState.RUNNING else START + timedelta(seconds=seconds)
    return trial


def _values(*values: float) -> list[FrozenTrial]:
    return [_trial(n, v) for n, v in enumerate(values)]


def test_the_target_count_counts_complete_and_pruned_trials() -> None:
    policy = StopPolicy(target=3)
    trials = [*_values(0.1, 0.2), _trial(2, None, TrialState.PRUNED)]
    assert policy.reason(trials, elapsed=0, failures=0) == "reached 3 finished trials"
    assert policy.reason([*trials[:2], _trial(2, None, TrialState.FAIL)], elapsed=0, failures=0) is None


def test_a_grid_says_every_point_was_tried() -> None:
    assert StopPolicy(target=2, grid_size=2).reason(_values(1, 2), elapsed=0, failures=0) == (
        "every point of the grid (2) was tried"
    )


def test_runtime_and_failures_in_a_row() -> None:
    policy = StopPolicy(target=10, max_runtime_seconds=5)
    assert policy.reason([], elapsed=4.9, failures=0) is None
    assert policy.reason([], elapsed=5, failures=0) == "time limit of 5 s reached"
    assert StopPolicy(target=3).reason([], elapsed=0, failures=3) == "3 trials in a row failed; giving up"


def test_target_value_in_each_direction() -> None:
    up = StopPolicy(target=10, target_value=0.9)
    assert up.reason(_values(0.5, 0.89), elapsed=0, failures=0) is None
    assert up.reason(_values(0.5, 0.9), elapsed=0, failures=0) == "target value 0.9 reached (0.9)"
    down = StopPolicy(target=10, direction="minimize", target_value=0.1)
    assert down.reason(_values(0.5, 0.2), elapsed=0, failures=0) is None
    assert down.reason(_values(0.5, 0.05), elapsed=0, failures=0) == "target value 0.1 reached (0.05)"
    # A multi-objective sweep has no single value to reach.
    multi = StopPolicy(target=10, target_value=0.9, multi_objective=True)
    assert multi.reason(_values(0.95), elapsed=0, failures=0) is None


def test_no_improvement_in_the_last_n_trials() -> None:
    policy = StopPolicy(target=20, max_trials_without_improvement=3)
    assert policy.reason(_values(0.5, 0.6, 0.6, 0.55), elapsed=0, failures=0) is None  # only 3 after the first
    assert policy.reason(_values(0.5, 0.6, 0.6, 0.55, 0.59), elapsed=0, failures=0) == (
        "no improvement in the last 3 trials"
    )
    assert policy.reason(_values(0.5, 0.6, 0.6, 0.55, 0.61), elapsed=0, failures=0) is None
    down = StopPolicy(target=20, direction="minimize", max_trials_without_improvement=2)
    assert down.reason(_values(0.5, 0.4, 0.45, 0.41), elapsed=0, failures=0) == "no improvement in the last 2 trials"


def test_budget_stops_before_the_trial_that_would_pass_it() -> None:
    # 0.36 USD/h for 60 s is 0.006 per trial; two spent, a third would make 0.018.
    policy = StopPolicy(target=20, budget_usd=Decimal("0.015"), hourly_usd=Decimal("0.36"))
    assert policy.reason(_values(0.1), elapsed=0, failures=0) is None
    reason = policy.reason(_values(0.1, 0.2), elapsed=0, failures=0)
    assert reason == "estimated spend $0.0120 would pass the budget of $0.015 with one more trial"
    # A logged cost wins over the one computed from timestamps.
    logged = _values(0.1, 0.2)
    for trial in logged:
        trial.user_attrs["cost_usd_estimated"] = "0.001"
    assert policy.reason(logged, elapsed=0, failures=0) is None


def test_best_trial_per_direction_takes_the_earliest_of_ties() -> None:
    trials = _values(0.3, 0.7, 0.7, 0.1)
    assert best_trial(trials, "maximize").number == 1  # type: ignore[union-attr]
    assert best_trial(trials, "minimize").number == 3  # type: ignore[union-attr]
    assert best_trial([_trial(0, None, TrialState.FAIL)], "maximize") is None
