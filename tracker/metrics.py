"""Evaluation metrics as pure functions of labels, predictions and scores.

Names here are the suffixes of the MLflow metrics ``val_<m>`` and ``test_<m>``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = [
    "CLASSIFICATION_METRICS",
    "EXPECTED_VALUE",
    "OBJECTIVE_METRICS",
    "REGRESSION_METRICS",
    "Task",
    "classification_metrics",
    "default_direction",
    "regression_metrics",
    "task_of",
]

Task = Literal["classification", "regression"]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")
# Money per prediction, from the roi section's values: either task, as the roi section says.
EXPECTED_VALUE = "expected_value"
OBJECTIVE_METRICS = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS, EXPECTED_VALUE)
_LOWER_IS_BETTER = frozenset({"mse", "rmse", "mae"})


def task_of(metric: str) -> Task:
    """The kind of model a built-in objective metric judges (``expected_value`` is either: see the roi section)."""
    if metric in CLASSIFICATION_METRICS:
        return "classification"
    if metric in REGRESSION_METRICS:
        return "regression"
    raise ValueError(f"unknown metric {metric!r}; allowed: {', '.join(OBJECTIVE_METRICS)}")


def default_direction(metric: str) -> Literal["maximize", "minimize"]:
    """Errors are minimised; scores are maximised."""
    return "minimize" if metric in _LOWER_IS_BETTER else "maximize"


def classification_metrics(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    y_score: npt.ArrayLike | None = None,
) -> dict[str, float]:
    """Accuracy, precision, recall, F1 and ROC AUC, plus tp/fp/fn/tn for binary labels.

    Binary labels must be 0/1 with 1 the positive class; more classes get macro averages.
    ``y_score`` is the positive-class probability (binary) or the class-probability
    matrix (multiclass); without it ROC AUC is left out.
    """
    from sklearn import metrics as skm

    truth = np.asarray(y_true)
    pred = np.asarray(y_pred)
    classes = np.unique(np.concatenate([truth, pred]))
    binary = len(classes) <= 2 and set(classes.tolist()) <= {0, 1}
    average = "binary" if binary else "macro"
    out: dict[str, float] = {
        "accuracy": float(skm.accuracy_score(truth, pred)),
        "precision": float(skm.precision_score(truth, pred, average=average, zero_division=0)),
        "recall": float(skm.recall_score(truth, pred, average=average, zero_division=0)),
        "f1": float(skm.f1_score(truth, pred, average=average, zero_division=0)),
    }
    if y_score is not None and len(np.unique(truth)) > 1:
        score = np.asarray(y_score)
        if binary:
            out["roc_auc"] = float(skm.roc_auc_score(truth, score))
        else:
            out["roc_auc"] = float(skm.roc_auc_score(truth, score, multi_class="ovr", average="macro"))
    if binary:
        tn, fp, fn, tp = skm.confusion_matrix(truth, pred, labels=[0, 1]).ravel()
        out.update(tp=float(tp), fp=float(fp), fn=float(fn), tn=float(tn))
    return out


def regression_metrics(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> dict[str, float]:
    """MSE, RMSE, MAE and R²."""
    from sklearn import metrics as skm

    mse = float(skm.mean_squared_error(y_true, y_pred))
    return {
        "mse": mse,
        "rmse": math.sqrt(mse),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)),
    }


def prefixed(prefix: str, values: Mapping[str, float]) -> dict[str, float]:
    """``{"f1": 0.9}`` -> ``{"val_f1": 0.9}``."""
    return {f"{prefix}_{name}": value for name, value in values.items()}
