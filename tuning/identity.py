"""What a study optimises, stored on the study, so that a sweep never adds its trials to a
study of another objective.

A study's identity is the objective (the built-in trainer, or ``module:function``), the data
(the dataset's name or path, the SHA-256 of a file's bytes, the target, the positive label,
the columns dropped), the metric and its direction, whether cost is a second objective, and
the search space. It is stored as a user attribute when the study is created (or first
resumed by this version). A sweep whose config gives another identity stops before it
touches the study, naming the first difference, unless it asks for a study of its own
beside it (``--new-study``: the name gains the new identity's digest, so every worker and
every rerun finds the same one) or to add to the study anyway (``--resume-anyway``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tracker.errors import UsageError
from tracker.record import layout

if TYPE_CHECKING:
    import optuna

    from tracker.config import Settings

__all__ = ["StudyChoice", "choose_study", "identity", "record_identity"]

# What a sweep does when the stored identity differs: stop (exit 2), a study of its own, or join anyway.
StudyChoice = Literal["check", "new", "resume"]


def identity(settings: Settings) -> dict[str, Any]:
    """The config's objective identity, as JSON-ready values (compared key by key)."""
    o = settings.objective
    digest = _file_digest(o.dataset) if o.function is None else None
    return {
        "objective": o.function or o.resolved_trainer,
        # A file by its name and its bytes: the same data moved elsewhere is the same study.
        "dataset": Path(o.dataset).name if digest else o.dataset,
        "dataset_sha256": digest,
        "target": o.target,
        "positive_label": None if o.positive_label is None else str(o.positive_label),
        "drop_columns": sorted(o.drop_columns),
        "metric": o.metric,
        "direction": o.resolved_direction,
        "minimize_cost": o.minimize_cost,
        "search_space": (
            None
            if settings.search_space is None
            else {name: spec.model_dump(mode="json") for name, spec in sorted(settings.search_space.items())}
        ),
    }


def _file_digest(dataset: str) -> str | None:
    path = Path(dataset)
    if not path.is_file():
        return None  # a built-in dataset, named
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _digest(values: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def choose_study(settings: Settings, choice: StudyChoice = "check") -> Settings:
    """The settings to sweep with: as given, or, with ``choice="new"`` and another objective stored
    under the study's name, with a study of their own. Reads the study; never writes to it."""
    import optuna

    from tuning.storage import open_storage, storage_lock

    # Under the sweep-wide lock, as the sweep itself opens the storage: on a new database the
    # first process creates Optuna's tables alone, however many start at once.
    with storage_lock(settings.storage, settings.study_name):
        storage = open_storage(settings.storage)
        try:
            study = optuna.load_study(study_name=settings.study_name, storage=storage)
        except KeyError:
            return settings  # a new study: it takes this identity when created
        stored = study.user_attrs.get(layout.ATTR_IDENTITY)
    mine = identity(settings)
    if stored is None or stored == mine or choice == "resume":
        return settings
    if choice == "new":
        return settings.model_copy(update={"study": f"{settings.study_name}-{_digest(mine)[:8]}"})
    key = next(k for k in mine if stored.get(k) != mine[k])
    raise UsageError(
        f"study {settings.study_name!r} optimises {_words(stored)}, and this config asks for {_words(mine)} "
        f"({key}: {_shown(stored.get(key))} there, {_shown(mine[key])} here); pass --new-study for a study "
        "of its own beside it, --resume-anyway to add to it, or set `study` to another name"
    )


def record_identity(study: optuna.Study, settings: Settings) -> None:
    """Store the config's identity on a study that has none yet (new, or made by an earlier version)."""
    if layout.ATTR_IDENTITY not in study.user_attrs:
        study.set_user_attr(layout.ATTR_IDENTITY, identity(settings))


def _words(values: dict[str, Any]) -> str:
    cost = " and the cost" if values.get("minimize_cost") else ""
    return f"{values.get('metric')} ({values.get('direction')}{cost}) of {values.get('objective')}"


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 60 else text[:57] + "..."
