"""One contract for writing trial runs, run against both writers: in this process and in the writer process.

As Optuna's storage tests run over every backend, each test here runs once with
``DirectWriter`` (the record written in this process) and once with ``TrialRecorder`` (the
writer process the sweep uses), against a real MLflow SQLite store, and reads the result
back through ``RunReader`` as ``tracker runs`` and the report do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tracker.errors import TrackerError
from tracker.record import Record
from tracker.record.writer import DirectWriter, TrialRecorder, TrialWriter
from tracker.record.writes import TrialEnd, TrialStart

STARTED = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@pytest.fixture(params=["in-process", "writer-process"])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Record, TrialWriter, str, str]]:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    record = Record.open(uri)
    experiment = record.writes.ensure_experiment("contract")
    parent = record.writes.create_sweep_run(experiment, "contract", params={"seed": 1}, tags={"project": "churn"})
    writer: TrialWriter = DirectWriter(record.writes) if request.param == "in-process" else TrialRecorder(uri)
    try:
        yield record, writer, experiment, parent
    finally:
        writer.close()


def _start(experiment: str, parent: str, number: int) -> TrialStart:
    return TrialStart(experiment, parent, number, start_time=STARTED + number, tags={"project": "churn"}, worker="h:1")


def test_a_finished_trial_reads_back_as_it_was_written(setup: tuple[Record, TrialWriter, str, str]) -> None:
    record, writer, experiment, parent = setup
    writer.start(_start(experiment, parent, 0))
    end = TrialEnd(
        status="FINISHED",
        state="COMPLETE",
        end_time=STARTED + 2.5,
        params={"C": 0.5, "kernel": "rbf"},
        metrics={"val_f1": 0.8, "duration_seconds": 2.5, "cost_usd_estimated": 0.00016},
        steps={"val_f1": [(0, 0.5), (1, 0.7)]},
    )
    writer.finish(0, end)
    writer.flush()
    (run,) = record.reads.trial_runs(experiment, parent)
    assert (run.number, run.status, run.state, run.parent_run_id) == (0, "FINISHED", "COMPLETE", parent)
    assert run.params == {"C": "0.5", "kernel": "rbf"}
    assert run.metrics == {"val_f1": 0.8, "duration_seconds": 2.5, "cost_usd_estimated": 0.00016}
    assert run.tags == {"project": "churn"}
    assert (run.start_time, run.end_time) == (int(STARTED * 1000), int((STARTED + 2.5) * 1000))
    assert run.duration_seconds == 2.5 and run.cost_estimated == 0.00016
    # The intermediate steps come first; the final value is one step past them, so the UI shows it.
    history = record.reads.client.get_metric_history(run.run_id, "val_f1")
    assert [(m.step, m.value) for m in history] == [(0, 0.5), (1, 0.7), (2, 0.8)]


def test_more_metrics_than_one_batch_and_undefined_ones(setup: tuple[Record, TrialWriter, str, str]) -> None:
    record, writer, experiment, parent = setup
    writer.start(_start(experiment, parent, 1))
    steps = {"val_loss": [(step, 1 / (step + 1)) for step in range(1500)]}
    end = TrialEnd("FINISHED", "COMPLETE", STARTED + 9, metrics={"val_loss": 0.01, "val_auc": math.nan}, steps=steps)
    writer.finish(1, end)
    writer.flush()
    (run,) = record.reads.trial_runs(experiment, parent)
    assert run.metrics == {"val_loss": 0.01}  # NaN is left out, not stored
    assert len(record.reads.client.get_metric_history(run.run_id, "val_loss")) == 1501


def test_a_failed_trial_keeps_its_error(setup: tuple[Record, TrialWriter, str, str]) -> None:
    record, writer, experiment, parent = setup
    writer.start(_start(experiment, parent, 2))
    writer.finish(2, TrialEnd("FAILED", "FAIL", STARTED + 1, error="ValueError: " + "x" * 6000))
    writer.flush()
    (run,) = record.reads.trial_runs(experiment, parent)
    assert (run.status, run.state) == ("FAILED", "FAIL")
    error = record.reads.client.get_run(run.run_id).data.tags["tracker.error"]
    assert len(error) == 5000 and error.endswith("...")


def test_a_trial_never_finished_is_failed_when_the_writer_closes(setup: tuple[Record, TrialWriter, str, str]) -> None:
    record, writer, experiment, parent = setup
    writer.start(_start(experiment, parent, 3))
    writer.flush()
    writer.close()
    # The writer process ends on its own time once closed; its last act is to fail the run.
    deadline = time.monotonic() + 60
    while (runs := record.reads.trial_runs(experiment, parent)) and runs[0].status == "RUNNING":
        assert time.monotonic() < deadline, "the run stayed RUNNING"
        time.sleep(0.1)
    (run,) = runs
    assert (run.status, run.state) == ("FAILED", "FAIL")
    assert record.reads.client.get_run(run.run_id).data.tags["tracker.error"] == (
        "the sweep ended before this trial finished"
    )


def test_refused_figures_end_the_run_and_are_raised_at_the_next_flush(
    setup: tuple[Record, TrialWriter, str, str],
) -> None:
    record, writer, experiment, parent = setup
    writer.start(_start(experiment, parent, 4))
    # MLflow refuses a metric name with characters it does not allow.
    writer.finish(4, TrialEnd("FINISHED", "COMPLETE", STARTED + 1, metrics={"val f1 <bad>": 0.5}))
    with pytest.raises(TrackerError, match="writing to the MLflow store failed"):
        writer.flush()
    (run,) = record.reads.trial_runs(experiment, parent)
    assert (run.status, run.state) == ("FAILED", "FAIL")
    writer.flush()  # the failure was reported once
