"""Sweeps: search spaces, AMT strategies on Optuna, built-in trainers, the sweep loop.

What the package offers is loaded on first use (``from tuning import run_sweep``), so that
importing one of its modules does not import Optuna, scikit-learn and MLflow with it.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BestTrial", "StopPolicy", "SweepEvent", "SweepInterrupted", "SweepSummary", "run_sweep"]

_WHERE = {
    "BestTrial": "tuning.sweep",
    "StopPolicy": "tuning.stop",
    "SweepEvent": "tuning.sweep",
    "SweepInterrupted": "tuning.sweep",
    "SweepSummary": "tuning.sweep",
    "run_sweep": "tuning.sweep",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tuning' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
