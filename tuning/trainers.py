"""Built-in scikit-learn trainers, their default search spaces, and staged training.

Trainers that grow an ensemble train in stages (``warm_start``) and report the
validation metric after each, so Hyperband and median early stopping can prune them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tracker.config import ParamSpec
from tracker.errors import ConfigError
from tracker.metrics import Task

__all__ = ["STAGES", "TRAINERS", "TrainerSpec", "get_trainer", "with_encoding"]

# Budget fractions at which a staged trainer reports an intermediate value.
STAGES = (0.25, 0.5, 0.75, 1.0)


def _int(low: int, high: int, *, log: bool = False) -> ParamSpec:
    return ParamSpec(type="int", low=low, high=high, log=log)


def _float(low: float, high: float, *, log: bool = False) -> ParamSpec:
    return ParamSpec(type="float", low=low, high=high, log=log)


def _choice(*choices: Any) -> ParamSpec:
    return ParamSpec(type="categorical", choices=list(choices))


@dataclass(frozen=True)
class TrainerSpec:
    """A built-in trainer: how to build it for a task, and what to search."""

    name: str
    tasks: tuple[Task, ...]
    make: Callable[[Task, Mapping[str, Any], int], Any]
    default_space: dict[str, ParamSpec]
    # The parameter that sets how much is trained (trees); None when training is one step.
    budget_param: str | None = None
    description: str = ""
    fixed: dict[str, Any] = field(default_factory=dict)


def _random_forest(task: Task, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestClassifier if task == "classification" else RandomForestRegressor
    return cls(random_state=seed, warm_start=True, n_jobs=1, **params)


def _extra_trees(task: Task, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    cls = ExtraTreesClassifier if task == "classification" else ExtraTreesRegressor
    return cls(random_state=seed, warm_start=True, n_jobs=1, **params)


def _gradient_boosting(task: Task, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

    cls = GradientBoostingClassifier if task == "classification" else GradientBoostingRegressor
    return cls(random_state=seed, warm_start=True, **params)


def _logistic_regression(task: Task, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(random_state=seed, max_iter=2000, **params))


def _ridge(task: Task, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), Ridge(random_state=seed, **params))


TRAINERS: dict[str, TrainerSpec] = {
    spec.name: spec
    for spec in (
        TrainerSpec(
            "random_forest",
            ("classification", "regression"),
            _random_forest,
            {
                "n_estimators": _int(20, 200),
                "max_depth": _int(2, 16, log=True),
                "min_samples_leaf": _int(1, 10),
                "max_features": _choice("sqrt", "log2", 1.0),
            },
            budget_param="n_estimators",
            description="random forest (scikit-learn RandomForestClassifier / Regressor)",
        ),
        TrainerSpec(
            "extra_trees",
            ("classification", "regression"),
            _extra_trees,
            {
                "n_estimators": _int(20, 200),
                "max_depth": _int(2, 16, log=True),
                "min_samples_leaf": _int(1, 10),
            },
            budget_param="n_estimators",
            description="extremely randomised trees (ExtraTreesClassifier / Regressor)",
        ),
        TrainerSpec(
            "gradient_boosting",
            ("classification", "regression"),
            _gradient_boosting,
            {
                "n_estimators": _int(20, 200),
                "learning_rate": _float(0.01, 0.3, log=True),
                "max_depth": _int(1, 5),
                "subsample": _float(0.5, 1.0),
            },
            budget_param="n_estimators",
            description="gradient boosting (GradientBoostingClassifier / Regressor)",
        ),
        TrainerSpec(
            "logistic_regression",
            ("classification",),
            _logistic_regression,
            {"C": _float(1e-3, 100.0, log=True)},
            description="standardised logistic regression",
        ),
        TrainerSpec(
            "ridge",
            ("regression",),
            _ridge,
            {"alpha": _float(1e-3, 100.0, log=True)},
            description="standardised ridge regression",
        ),
    )
}


def with_encoding(model: Any, categorical: tuple[str, ...]) -> Any:
    """``model`` behind a one-hot encoder of the ``categorical`` columns (others pass through).

    Encoding inside the pipeline means the fitted model, and so the registered champion,
    takes the raw columns; a category it never saw is encoded as all zeros, not an error.
    """
    if not categorical:
        return model
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    encode = ColumnTransformer(
        [("categories", OneHotEncoder(handle_unknown="ignore", sparse_output=False), list(categorical))],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline([("encode", encode), ("model", model)])


def get_trainer(name: str, task: Task) -> TrainerSpec:
    """The trainer called ``name``; a ConfigError names the choices when it does not fit."""
    spec = TRAINERS.get(name)
    if spec is None:
        raise ConfigError(f"objective.trainer: unknown trainer {name!r}; allowed: {', '.join(TRAINERS)}")
    if task not in spec.tasks:
        fits = [n for n, s in TRAINERS.items() if task in s.tasks]
        raise ConfigError(f"objective.trainer: {name!r} does not do {task}; for {task} use one of {', '.join(fits)}")
    return spec
