"""Shared by every section: the base model, defaults, and how a bad value is shown."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
)

from tracker.errors import clip

Strategy = Literal["bayesian", "random", "grid", "hyperband"]
_TRACKING_SCHEMES = frozenset({"sqlite", "postgresql", "mysql", "mssql", "http", "https", "file", "databricks"})
# How much of a bad value an error message shows: enough to recognise it, never a flood.
_SHOWN = 120


def _shown(value: Any) -> str:
    text = repr(value)
    return clip(text, _SHOWN)


DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
# An Optuna journal file: a path, not a URL (see tuning.storage). Studies that a sweep
# kept in ./optuna.db before the journal became the default are still found there.
DEFAULT_STORAGE = "optuna.journal"
LEGACY_STORAGE = "optuna.db"


class _Section(BaseModel):
    # A typo in a key is an error that names it, never a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)
