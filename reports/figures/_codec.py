"""The figures' codec: a dataclass of figures to JSON and back, driven by its field types; how each kind
of figure is rounded when it is published."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar, Union

from tracker.money import ONE, RATIO, cents

# A JSON value: what a config snapshot, a spend filter or a source's details are.
Json = dict[str, "Json"] | list["Json"] | str | int | float | bool | None


# -- how each kind of figure is published ------------------------------------------------------------


def money(value: Decimal | None) -> Decimal | None:
    """Money as the report states it: to the cent, half up, never ``-0.00``."""
    return None if value is None else cents(value)


def ratio(value: Decimal | None) -> Decimal | None:
    """A ratio (a probability, a rate, ROI as a fraction) to four places."""
    return None if value is None else value.quantize(RATIO, ROUND_HALF_UP)


def percent_whole(value: Decimal | None) -> Decimal | None:
    """A ratio as a whole percent (6.0529 -> 605): ROI is never shown to two decimals of a tiny denominator."""
    return None if value is None else (value * 100).quantize(ONE, ROUND_HALF_UP)


def score(value: float | Decimal | None) -> Decimal | None:
    """A quality metric or a share for a table: four places."""
    return None if value is None else Decimal(f"{float(value):.4f}")


# -- the codec: dataclass <-> JSON, driven by the field types -------------------------------------------

_T = TypeVar("_T", bound="Figures")


class Figures:
    """A frozen dataclass of figures, written to JSON by its field types and read back the same way.

    ``Decimal`` is written as its text, a ``float`` (an exact threshold) as its ``repr``, a
    ``date`` in ISO form; nested figures, tuples and mappings in kind. A subclass may name
    fields left out of the JSON when they do not apply (:meth:`_omitted`).
    """

    def _omitted(self) -> frozenset[str]:
        """Fields that do not apply to this value and are left out of its JSON."""
        return frozenset()

    def to_json(self) -> dict[str, Json]:
        """The figures as a JSON object, keys in field order."""
        omitted = self._omitted()
        return {
            f.name: _as_is(getattr(self, f.name)) if f.type == "Json" else _encode(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name not in omitted
        }

    @classmethod
    def from_json(cls: type[_T], data: Mapping[str, Any]) -> _T:
        """The figures of a JSON object written by :meth:`to_json`; a field left out reads as its default."""
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name in data:
                values[f.name] = _decode(hints[f.name], data[f.name])
        return cls(**values)


def _as_is(value: Json) -> Json:
    """A field that holds JSON already (a config snapshot, a filter): written as it is."""
    return value


def _encode(value: object) -> Json:
    if isinstance(value, Figures):
        return value.to_json()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _encode(item) for key, item in value.items()}
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _decode(hint: Any, data: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if data is None:
            return None
        return _decode(options[0], data) if len(options) == 1 else data  # Json: kept as it is
    if isinstance(hint, type) and issubclass(hint, Figures):
        return hint.from_json(data)
    if hint is Decimal:
        return Decimal(data)
    if hint is float:
        return float(data)
    if hint is date:
        return date.fromisoformat(data)
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_decode(item, value) for value in data)
    if origin in (dict, Mapping):
        item = typing.get_args(hint)[1]
        return {key: _decode(item, value) for key, value in data.items()}
    return data
