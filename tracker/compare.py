"""``tracker runs``: the latest sweep's trial runs side by side, best first."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from tracker.record import layout
from tracker.record._client import open_client
from tracker.record.reads import RunReader, TrialRun
from tracker.urls import DEFAULT_UI, compare_link, runs_table_link, ui_base

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

    def best_run_ids(self, k: int = 5) -> list[str]:
        """The ``k`` best finished trial runs (the rows are best first)."""
        return [str(row["run_id"]) for row in self.rows if row["state"] == "COMPLETE"][:k]

    def links(self, tracking_uri: str, local_ui: str = DEFAULT_UI) -> UiLinks:
        return ui_links(tracking_uri, self.experiment_id, self.best_run_ids(), local_ui)

    def to_records(self) -> list[dict[str, Any]]:
        return [dict(row) for row in self.rows]

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(self.columns), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buffer.getvalue()

    def to_rich(self) -> Any:
        from rich.table import Table

        table = Table(title=f"{self.experiment}: sweep {self.parent_run_id[:8]}, best {self.metric_key} first")
        for column in self.columns:
            table.add_column(column, justify="right" if column not in ("state", "run_id", "pareto") else "left")
        for row in self.rows:
            table.add_row(*(_cell(row.get(c)) for c in self.columns))
        return table


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
    return RunTable(experiment, experiment_id, parent.run_id, metric_key, direction, tuple(columns), tuple(rows))


def ui_links(tracking_uri: str, experiment_id: str, best_run_ids: list[str], local_ui: str = DEFAULT_UI) -> UiLinks:
    """The runs table of an experiment, and the compare page of its best runs (when there are two or more)."""
    base = ui_base(tracking_uri, local_ui)
    return UiLinks(
        runs=runs_table_link(base, experiment_id),
        compare=compare_link(base, experiment_id, best_run_ids) if len(best_run_ids) > 1 else None,
        compared=len(best_run_ids),
        local=not tracking_uri.startswith(("http://", "https://")),
    )


@dataclass(frozen=True)
class UiLinks:
    """Where the MLflow UI shows a sweep: its runs table, and the compare page of its best trials."""

    runs: str
    compare: str | None
    compared: int
    local: bool  # True: served by `tracker ui`, which must be running

    def lines(self) -> list[str]:
        out = [f"Runs table: {self.runs}"]
        if self.compare is not None:
            out.append(f"Compare the best {self.compared}: {self.compare}")
        return out
