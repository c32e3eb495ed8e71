"""Sweeps: search spaces, AMT strategies on Optuna, built-in trainers, the sweep loop."""

from __future__ import annotations

__all__: list[str] = []
