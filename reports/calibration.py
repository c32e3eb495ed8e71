"""Are the model's scores probabilities? Checked on the test set, mended on the validation split.

The estimates of unlabelled months (:mod:`reports.plan_vs_actual`) take a score of 0.3 to
mean a 30% chance of a positive. Platt scaling, a logistic regression on the score's
log-odds, is fitted on the validation split (never the test set it is judged on); it is used
when it lowers the test set's Brier score by at least ``CALIBRATION_GAIN`` of it, else the
scores are used as logged. Platt rather than isotonic: two numbers, applied row by row in
the log's SQL, and steady on a validation split of a few hundred rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np

from reports import figures as f

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CALIBRATION_GAIN", "Platt", "check_calibration", "platt"]

# Calibrate when it lowers the test set's Brier score by at least 1% of it.
CALIBRATION_GAIN = 0.01
# Scores are kept this far from 0 and 1 so that their log-odds stay finite (the SQL does the same).
EDGE = 1e-6


@dataclass(frozen=True)
class Platt:
    """1 / (1 + exp(−(slope·logit(s) + intercept)))."""

    slope: float
    intercept: float

    def apply(self, scores: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(self.slope * _logit(scores) + self.intercept)))


def platt(scores: np.ndarray, truth: np.ndarray) -> Platt:
    """Platt scaling fitted by maximum likelihood (an unpenalised logistic regression on the log-odds)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(_logit(scores).reshape(-1, 1), truth.astype(int))
    return Platt(float(model.coef_[0][0]), float(model.intercept_[0]))


def _logit(scores: np.ndarray) -> np.ndarray:
    clipped = np.clip(scores.astype(float), EDGE, 1 - EDGE)
    return np.asarray(np.log(clipped / (1 - clipped)))


def check_calibration(validation: pd.DataFrame | None, test: pd.DataFrame) -> tuple[Platt | None, f.CalibrationFigures]:
    """Whether the scores are calibrated, checked on the test set: Platt scaling fitted on the
    validation split, used when it lowers the test set's Brier score by at least ``CALIBRATION_GAIN``."""
    scores, truth = test["y_score"].to_numpy(dtype=float), test["y_true"].to_numpy(dtype=float)
    as_logged = float(np.mean((scores - truth) ** 2))
    if validation is None or "y_score" not in validation.columns or validation["y_true"].nunique() < 2:
        words = "scores used as logged (no validation predictions to calibrate on)"
        return None, f.CalibrationFigures("none", _four(as_logged), _four(as_logged), words)
    fitted = platt(validation["y_score"].to_numpy(dtype=float), validation["y_true"].to_numpy(dtype=float))
    calibrated = float(np.mean((fitted.apply(scores) - truth) ** 2))
    use = calibrated < as_logged * (1 - CALIBRATION_GAIN)
    brier = f"the test set's Brier score {as_logged:.4f} as logged, {calibrated:.4f} Platt-scaled"
    words = (
        f"scores Platt-scaled on the validation split ({brier})"
        if use
        else f"scores used as logged: they are calibrated ({brier})"
    )
    figures = f.CalibrationFigures("platt" if use else "none", _four(as_logged), _four(calibrated), words)
    return (fitted if use else None), figures


def _four(value: float) -> Decimal:
    return f.score(value) or Decimal(0)
