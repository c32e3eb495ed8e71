"""URLs as people may see them: credentials never printed, rendered or logged."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

__all__ = [
    "DEFAULT_UI",
    "MAX_COMPARED",
    "RUNS_VIEW_TAG_PREFIX",
    "compare_link",
    "redact",
    "redact_all",
    "run_link",
    "runs_table_link",
    "runs_view",
    "ui_base",
]

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


def runs_table_link(base: str, experiment_id: str, view: str | None = None) -> str:
    """The experiment's runs table in the model-training workspace, opened on a saved ``view``.

    MLflow 3 opens an experiment in its GenAI workspace unless the link asks for
    ``workflowType=machine_learning``; the choice is otherwise a browser preference. A
    ``view`` is the key of a view saved on the experiment by :func:`runs_view`.
    """
    shared = f"viewStateShareKey={quote(view)}&" if view else ""
    return f"{base}/#/experiments/{quote(experiment_id)}/runs?{shared}workflowType=machine_learning"


def run_link(base: str, experiment_id: str, run_id: str) -> str:
    """One run's page, in the model-training workspace (MLflow 3 would open it in GenAI's)."""
    return f"{base}/#/experiments/{quote(experiment_id)}/runs/{quote(run_id)}?workflowType=machine_learning"


# MLflow's runs page keeps a shared view (filter, order, columns) as an experiment tag with this
# prefix, and opens it from a link's ``viewStateShareKey``: the same as its "Share" button.
RUNS_VIEW_TAG_PREFIX = "mlflow.sharedViewState."


def runs_view(
    parent_run_id: str, metric_key: str, test_key: str, direction: str, params: Sequence[str]
) -> tuple[str, str]:
    """A runs-table view of one sweep's trials: flat rows, best ``metric_key`` first, with the
    metric, its test twin, the searched parameters and the duration as columns.

    Returns the view's key and the tag value that holds it (MLflow's JSON view state).
    """

    def column(kind: str, name: str) -> str:
        return f"{kind}.`{name}`"

    state = {
        "searchFilter": f"tags.mlflow.parentRunId = '{parent_run_id}'",
        "orderByKey": column("metrics", metric_key),
        "orderByAsc": direction == "minimize",
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "datasetsFilter": [],
        "modelVersionFilter": "All Runs",
        "selectedColumns": [
            column("metrics", metric_key),
            column("metrics", test_key),
            *(column("params", name) for name in params),
            column("attributes", "Duration"),
        ],
        "runsExpanded": {},
        "runsPinned": [],
        "runsHidden": [],
        "runsHiddenMode": "SHOW_ALL",
        "viewMaximized": False,
        "runListHidden": False,
        "columnOrder": [],
        "columnWidths": {},
    }
    value = json.dumps(state, separators=(",", ":"))
    return hashlib.sha256(value.encode()).hexdigest(), value


# MLflow's compare page draws every run it is given; past this many, the link would be unreadable.
MAX_COMPARED = 100


def compare_link(base: str, experiment_id: str, run_ids: Sequence[str]) -> str:
    """MLflow's compare page (parallel coordinates, scatter, contour) for ``run_ids``."""
    runs = quote(json.dumps(list(run_ids), separators=(",", ":")))
    experiments = quote(json.dumps([experiment_id], separators=(",", ":")))
    return f"{base}/#/compare-runs?runs={runs}&experiments={experiments}"
