"""Shared by every section: the base model, defaults, and how a bad value is shown."""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationInfo,
    field_validator,
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


def _takes_bool(annotation: Any) -> bool:
    """Whether a field's type admits ``True``/``False`` (a bool, or a union or Any that holds one)."""
    if annotation is bool or annotation is Any:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _takes_bool(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_bool(arg) for arg in typing.get_args(annotation))
    return False


def _takes(annotation: Any, kinds: tuple[type, ...]) -> bool:
    """Whether a field's type admits a value of one of ``kinds``."""
    if isinstance(annotation, type) and issubclass(annotation, kinds) and annotation is not bool:
        return True
    return any(_takes(arg, kinds) for arg in typing.get_args(annotation))


def _bounds_of(field: Any) -> str:
    """The field's numeric bounds in words ("from 1 to 1200"), from its constraints; "" when none."""
    low = high = None
    for rule in field.metadata:
        low = getattr(rule, "ge", getattr(rule, "gt", low))
        high = getattr(rule, "le", getattr(rule, "lt", high))
    if low is not None and high is not None:
        return f" from {low} to {high}"
    return f" of at least {low}" if low is not None else ""


class _Section(BaseModel):
    # A typo in a key is an error that names it, never a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_yaml_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        """YAML reads yes/no/on/off as booleans, which a number field would take as 1 and 0."""
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields[info.field_name]
            if not _takes_bool(field.annotation):
                shown = "true (yes, on)" if value else "false (no, off)"
                if _takes(field.annotation, (int, float, Decimal)):
                    raise ValueError(
                        f"got {shown}, a YAML boolean, where a number is expected; give a number{_bounds_of(field)}"
                    )
                raise ValueError(f"got {shown}, a YAML boolean; put the text in quotes")
        return value
