"""``tracker runs``: the latest sweep's trial runs side by side, best first."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tracker.record import layout
from tracker.record._client import open_client
from tracker.record.reads import RunReader, TrialRun
from tracker.urls import DEFAULT_UI, MAX_COMPARED, compare_link, run_link, runs_table_link, ui_base

__all__ = ["RunTable", "UiLinks", "compare_latest_sweep", "ui_links"]

_STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "RUNNING": 2, "FAIL": 3}


@dataclass(frozen=True)
class RunTable:
    """Rows of the comparison and the names of its columns."""

    experiment: str
    experiment_id: str
    parent_run_id: str
    metric_key: str
    direction: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]

    params: tuple[str, ...] = ()  # the searched parameters' columns
    runs_view: str | None = None

    def best_run_ids(self, k: int = 5) -> list[str]:
        """The ``k`` best finished trial runs, one per distinct value (the rows are best first)."""
        seen: set[Any] = set()
        best = []
        for row in self.rows:
            if row["state"] == "COMPLETE" and row[self.metric_key] not in seen:
                seen.add(row[self.metric_key])
                best.append(str(row["run_id"]))
        return best[:k]

    def finished_run_ids(self) -> list[str]:
        return [str(row["run_id"]) for row in self.rows if row["state"] == "COMPLETE"]

    def links(self, tracking_uri: str, local_ui: str = DEFAULT_UI) -> UiLinks:
        return ui_links(
            tracking_uri,
            self.experiment_id,
            self.best_run_ids(),
            local_ui,
            view=self.runs_view,
            all_run_ids=self.finished_run_ids(),
        )

    def to_records(self) -> list[dict[str, Any]]:
        """The rows, each parameter as the type it was suggested with (MLflow keeps them as text)."""
        return [{k: (_typed(v) if k in self.params else v) for k, v in row.items()} for row in self.rows]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(self.columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buffer.getvalue()

    def to_rich(self, width: int | None = None) -> tuple[Any, list[str]]:
        """The table as wide as ``width`` allows, and the columns left out to fit it.

        A run id is never cut: it is what a user copies. Cost and duration, then parameters
        from the right, are left out until the rest fits, each whole.
        """
        from rich.table import Table

        cells = {c: [_cell(row.get(c)) for row in self.rows] for c in self.columns}
        need = {c: max([len(c), *(len(v) for v in cells[c])]) + 3 for c in self.columns}
        shown = list(self.columns)
        droppable = [layout.METRIC_COST_ESTIMATED, "duration_s", *reversed(self.params)]
        for column in droppable:
            if width is None or sum(need[c] for c in shown) + 1 <= width:
                break
            shown.remove(column)
        title = f"{self.experiment}: sweep {self.parent_run_id[:8]}, best {self.metric_key} first"
        table = Table(title=title)
        for column in shown:
            left = column in ("state", "run_id", "pareto")
            table.add_column(column, justify="left" if left else "right", no_wrap=True, min_width=need[column] - 3)
        for index in range(len(self.rows)):
            table.add_row(*(cells[c][index] for c in shown))
        return table, [c for c in self.columns if c not in shown]


def _typed(value: Any) -> Any:
    """A parameter's text as the number, bool or null it was (a Python repr, as MLflow logged it)."""
    if not isinstance(value, str):
        return value
    if value in ("True", "False"):
        return value == "True"
    if value == "None":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def _cell(value: Any) -> str:
    """A value as the terminal table shows it: floats to 4 significant digits, as the sweep's
    summary does. MLflow keeps parameters as text, so a float parameter is found by parsing;
    the JSON and CSV formats keep every digit."""
    if value is None:
        return "-"
    if isinstance(value, str) and any(c in value for c in ".eE"):
        try:
            value = float(value)
        except ValueError:
            return value
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def compare_latest_sweep(tracking_uri: str, experiment: str, *, top: int | None = None) -> RunTable:
    store = RunReader(open_client(tracking_uri, create=False))
    experiment_id = store.experiment_id(experiment)
    parent = store.latest_sweep_run(experiment_id)
    metric_key = parent.metric_key or layout.val_metric("score")
    direction = parent.direction
    pareto = set(parent.pareto_trials)
    trials = store.trial_runs(experiment_id, parent.run_id)
    sign = -1.0 if direction == "maximize" else 1.0

    def order(run: TrialRun) -> tuple[int, float, int]:
        value = run.metrics.get(metric_key)
        rank = _STATE_ORDER.get(run.state, 4)
        if run.state != "COMPLETE" or value is None:
            return (max(rank, 1), 0.0, run.number)
        return (0, sign * value, run.number)

    trials.sort(key=order)
    if top is not None:
        trials = trials[:top]
    param_names = sorted({name for run in trials for name in run.params})
    test_key = layout.test_twin(metric_key)
    columns = ["trial", "state", metric_key, test_key, "duration_s", layout.METRIC_COST_ESTIMATED]
    if pareto:
        columns.append("pareto")
    columns += [*param_names, "run_id"]
    rows = []
    for run in trials:
        row: dict[str, Any] = {
            "trial": run.number,
            "state": run.state,
            metric_key: run.metrics.get(metric_key),
            test_key: run.metrics.get(test_key),
            "duration_s": None if run.duration_seconds is None else round(run.duration_seconds, 3),
            layout.METRIC_COST_ESTIMATED: run.metrics.get(layout.METRIC_COST_ESTIMATED),
        }
        if pareto:
            row["pareto"] = "yes" if run.number in pareto else ""
        row.update({name: run.params.get(name) for name in param_names})
        row["run_id"] = run.run_id
        rows.append(row)
    return RunTable(
        experiment,
        experiment_id,
        parent.run_id,
        metric_key,
        direction,
        tuple(columns),
        tuple(rows),
        params=tuple(param_names),
        runs_view=parent.runs_view,
    )


def ui_links(
    tracking_uri: str,
    experiment_id: str,
    best_run_ids: Sequence[str],
    local_ui: str = DEFAULT_UI,
    *,
    view: str | None = None,
    all_run_ids: Sequence[str] = (),
) -> UiLinks:
    """The sweep's runs table (its saved ``view`` when it has one), the compare page of its best
    distinct runs, and one of all its finished runs (each when there are two or more)."""
    base = ui_base(tracking_uri, local_ui)
    all_run_ids = all_run_ids[:MAX_COMPARED]
    return UiLinks(
        runs=runs_table_link(base, experiment_id, view),
        compare=compare_link(base, experiment_id, best_run_ids) if len(best_run_ids) > 1 else None,
        compared=len(best_run_ids),
        local=not tracking_uri.startswith(("http://", "https://")),
        compare_all=compare_link(base, experiment_id, all_run_ids) if len(all_run_ids) > len(best_run_ids) else None,
        compared_all=len(all_run_ids),
        best_run=run_link(base, experiment_id, best_run_ids[0]) if best_run_ids else None,
    )


@dataclass(frozen=True)
class UiLinks:
    """Where the MLflow UI shows a sweep: its runs table, and the compare page of its best trials."""

    runs: str
    compare: str | None
    compared: int
    local: bool  # True: served by `tracker ui`, which must be running
    compare_all: str | None = None
    compared_all: int = 0
    best_run: str | None = None

    def lines(self) -> list[str]:
        out = [f"Runs table: {self.runs}"]
        if self.best_run is not None:
            out.append(f"Best trial's run: {self.best_run}")
        if self.compare is not None:
            out.append(f"Compare the best {self.compared}: {self.compare}")
        if self.compare_all is not None:
            out.append(f"Compare all {self.compared_all}: {self.compare_all}")
        return out
