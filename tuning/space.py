"""Search spaces: config entries turned into Optuna suggestions, or into a grid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tracker.config import ParamSpec
from tracker.errors import ConfigError

if TYPE_CHECKING:
    import optuna

__all__ = ["MAX_GRID", "grid_of", "suggest"]

# A float range without a step becomes this many evenly spaced grid points.
_GRID_POINTS = 5
# Optuna's grid sampler holds every combination in memory; past this, choose another strategy.
MAX_GRID = 100_000
_MAX_VALUES = 1000


def suggest(trial: optuna.Trial, space: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """One value per parameter, drawn by the study's sampler."""
    params: dict[str, Any] = {}
    for name, spec in space.items():
        if spec.type == "categorical":
            params[name] = trial.suggest_categorical(name, spec.choices or [])
        elif spec.type == "int":
            assert spec.low is not None and spec.high is not None
            params[name] = trial.suggest_int(
                name, int(spec.low), int(spec.high), step=int(spec.step or 1), log=spec.log
            )
        else:
            assert spec.low is not None and spec.high is not None
            params[name] = trial.suggest_float(name, spec.low, spec.high, step=spec.step, log=spec.log)
    return params


def grid_of(space: Mapping[str, ParamSpec]) -> dict[str, list[Any]]:
    """Every value of each parameter, for the ``grid`` strategy.

    Int ranges are enumerated by their step; float ranges by their step, or as
    five evenly spaced points (geometrically spaced when log-scaled).
    """
    grid: dict[str, list[Any]] = {}
    for name, spec in space.items():
        if spec.type == "categorical":
            grid[name] = list(spec.choices or [])
            continue
        assert spec.low is not None and spec.high is not None
        count = _count(spec)
        if count > _MAX_VALUES:
            raise ConfigError(f"search_space.{name}: {count:,} grid values; give a larger step (at most {_MAX_VALUES})")
        if spec.type == "int":
            step = int(spec.step or 1)
            values: list[Any] = list(range(int(spec.low), int(spec.high) + 1, step))
            if spec.log and len(values) > _GRID_POINTS:
                values = sorted({round(v) for v in _points(spec.low, spec.high, log=True)})
        elif spec.step is not None:
            count = round((spec.high - spec.low) / spec.step) + 1
            values = [spec.low + i * spec.step for i in range(count)]
        else:
            values = _points(spec.low, spec.high, log=spec.log)
        grid[name] = values
    size = grid_size(grid)
    if size > MAX_GRID:
        raise ConfigError(
            f"search_space: the grid has {size:,} points (at most {MAX_GRID:,}); use larger steps or "
            "strategy: random or bayesian"
        )
    return grid


def _count(spec: ParamSpec) -> int:
    """How many values a range enumerates, computed before any list is built."""
    assert spec.low is not None and spec.high is not None
    if spec.step is None:
        return int(spec.high - spec.low) + 1 if spec.type == "int" and not spec.log else _GRID_POINTS
    step = max(spec.step, 1) if spec.type == "int" else spec.step
    return int((spec.high - spec.low) // step) + 1


def _points(low: float, high: float, *, log: bool) -> list[float]:
    import numpy as np

    raw = np.geomspace(low, high, _GRID_POINTS) if log else np.linspace(low, high, _GRID_POINTS)
    return [float(v) for v in raw]


def grid_size(grid: Mapping[str, list[Any]]) -> int:
    size = 1
    for values in grid.values():
        size *= len(values)
    return size
