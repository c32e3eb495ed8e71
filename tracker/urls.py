"""URLs as people may see them: credentials never printed, rendered or logged."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

__all__ = ["DEFAULT_UI", "compare_link", "redact", "redact_all", "runs_table_link", "ui_base"]

# Where `tracker ui` (and `mlflow ui`) serve a local store unless told otherwise.
DEFAULT_UI = "http://127.0.0.1:5000"

# scheme://user:password@host -> scheme://user:***@host (any scheme: http, postgresql+psycopg, ...)
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/@:\s]*):(?P<secret>[^/@\s]*)@")


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _CREDENTIALS.sub(lambda m: f"{m.group('head')}:***@", text)


def redact_all(value: Any) -> Any:
    """A copy of a JSON-like value (mappings, lists, strings) with every URL's password redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_all(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_all(item) for item in value]
    return value


def ui_base(tracking_uri: str, local_ui: str = DEFAULT_UI) -> str:
    """The MLflow UI that shows ``tracking_uri``: the tracking server itself, or ``tracker ui`` for a local store."""
    if tracking_uri.startswith(("http://", "https://")):
        return redact(tracking_uri).rstrip("/")
    return local_ui.rstrip("/")


def runs_table_link(base: str, experiment_id: str) -> str:
    """The experiment's runs table in the model-training workspace.

    MLflow 3 opens an experiment in its GenAI workspace unless the link asks for
    ``workflowType=machine_learning``; the choice is otherwise a browser preference.
    """
    return f"{base}/#/experiments/{quote(experiment_id)}/runs?workflowType=machine_learning"


def compare_link(base: str, experiment_id: str, run_ids: Sequence[str]) -> str:
    """MLflow's compare page (parallel coordinates, scatter, contour) for ``run_ids``."""
    runs = quote(json.dumps(list(run_ids), separators=(",", ":")))
    experiments = quote(json.dumps([experiment_id], separators=(",", ":")))
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}"
