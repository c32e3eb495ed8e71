"""SageMaker Automatic Model Tuning's vocabulary, mapped onto Optuna.

| AMT                                   | here                         | Optuna                          |
|---------------------------------------|------------------------------|---------------------------------|
| Strategy: Bayesian                    | strategy: bayesian           | TPESampler                      |
| Strategy: Random                      | strategy: random             | RandomSampler                   |
| Strategy: Grid                        | strategy: grid               | GridSampler                     |
| Strategy: Hyperband                   | strategy: hyperband          | TPESampler + HyperbandPruner    |
| TrainingJobEarlyStoppingType: Auto    | early_stopping: median       | MedianPruner                    |
| TrainingJobEarlyStoppingType: Off     | early_stopping: off          | NopPruner                       |
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import optuna

from tracker.errors import ConfigError
from tuning.trainers import STAGES

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial, TrialState

__all__ = ["make_pruner", "make_sampler"]


def make_sampler(
    strategy: str, *, seed: int, grid: Mapping[str, list[Any]] | None = None
) -> optuna.samplers.BaseSampler:
    if strategy in ("bayesian", "hyperband"):
        return optuna.samplers.TPESampler(seed=seed)
    if strategy == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if strategy == "grid":
        if not grid:
            raise ConfigError("strategy: grid needs a search_space with at least one parameter")
        return _QuietGridSampler(dict(grid), seed=seed)
    raise ConfigError(f"strategy: unknown strategy {strategy!r}; allowed: bayesian, random, grid, hyperband")


def make_pruner(strategy: str, early_stopping: str, *, multi_objective: bool) -> optuna.pruners.BasePruner:
    prunes = strategy == "hyperband" or early_stopping == "median"
    if prunes and multi_objective:
        raise ConfigError(
            "objective.minimize_cost: Optuna cannot prune a multi-objective sweep; "
            "set early_stopping: off and a strategy other than hyperband"
        )
    if strategy == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=len(STAGES), reduction_factor=2)
    if early_stopping == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    return optuna.pruners.NopPruner()


class _QuietGridSampler(optuna.samplers.GridSampler):
    """GridSampler that leaves stopping to the sweep loop.

    Optuna's GridSampler calls ``study.stop()`` when the grid is used up, which only
    works inside ``study.optimize``; our loop uses ask/tell and checks the grid itself.
    """

    def after_trial(
        self, study: optuna.Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        return None
