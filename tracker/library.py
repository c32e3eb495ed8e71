"""The commands as functions, for a notebook or a pipeline: what ``from tracker import ...`` offers.

Each function does what its command does, returns typed values instead of printing, and
raises :class:`~tracker.errors.TrackerError` (``UsageError`` for the caller's input) instead
of exiting. It sits on top of the layers, beside the CLI: it may use every package.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reports.realized_report import RealizedReport
    from tracker.config import Settings
    from tracker.record import Record
    from tracker.record.writer import TrialWriter
    from tuning.champion import SweepSummary
    from tuning.events import SweepEvent
    from tuning.identity import StudyChoice

__all__ = ["realized", "run_sweep"]


def run_sweep(
    settings: Settings,
    *,
    on_event: Callable[[SweepEvent], None] | None = None,
    source_file: str | None = None,
    recorder: TrialWriter | None = None,
    study_choice: StudyChoice = "check",
) -> SweepSummary:
    """Run the sweep ``settings`` describe, as ``tracker sweep`` does, and return what it did.

    Each trial's estimated cost uses the hourly price of ``settings.compute`` (the instance
    type's on-demand price times the count); on Ray, a node of a known instance type
    (``execution.instance_type``, or the node's ``instance-type`` label) prices a trial as its
    share of that node. ``on_event`` hears of each trial as it ends;
    ``source_file`` (the config) becomes the parent run's source; ``recorder`` replaces the
    writer process that writes the trial runs. After Ctrl-C, raises
    :class:`~tuning.sweep.SweepInterrupted`, which carries the summary. A study made for
    another objective is a :class:`~tracker.errors.UsageError` unless ``study_choice`` is
    ``"new"`` (a study of its own beside it) or ``"resume"`` (join it anyway).
    """
    from cost.prices import compute_hourly_price, price_table
    from tuning.sweep import run_sweep as sweep

    hourly = compute_hourly_price(settings.compute)
    return sweep(
        settings,
        hourly_usd=hourly,
        # A Ray node of a known instance type prices its trials as a share of that instance.
        prices={**price_table(), **settings.compute.prices},
        on_event=on_event,
        source_file=source_file,
        recorder=recorder,
        study_choice=study_choice,
    )


def realized(
    settings: Settings,
    outcomes: Path | str,
    *,
    run_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    record: Record | None = None,
) -> RealizedReport:
    """What the deployed model earned, month by month, against the plan, as ``tracker realized`` reports it.

    ``outcomes`` is the production log (a CSV or Parquet file, or a folder of them); ``start``
    and ``end`` select its days. The plan is the ROI report logged on the sweep (or the same
    figures computed from ``settings``). Publish the result with
    :func:`~reports.realized_report.publish_realized`.
    """
    from reports.realized_report import build_realized
    from tracker.record import Record

    record = record or Record.open(settings.tracking_uri)
    return build_realized(settings, Path(outcomes), record=record, run_id=run_id, start=start, end=end)
