"""Experiment tracking with cost and ROI: Optuna sweeps recorded in MLflow, joined with what they cost.

Use it from Python as the commands are used from a shell (see "Use it from Python" in the docs)::

    from tracker import build_report, load_settings, run_sweep

    settings = load_settings("examples/marketing.yaml")
    summary = run_sweep(settings)
    report = build_report(settings)
    print(report.figures.headline.npv)

Every name here is loaded on first use, so ``import tracker`` (and ``tracker --help``) costs
nothing of MLflow, Optuna or WeasyPrint until a function that needs them is called.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cost.service import Estimating, fetch_spend, spend_filter, spend_for
    from cost.table import SpendFilter, SpendRow, SpendTable
    from reports.figures import (
        HeadlineFigures,
        MonthFigures,
        PlanFigures,
        Provenance,
        RealizedFigures,
        RealizedHeadline,
        RoiFigures,
        SpendFigures,
        ToDateFigures,
        TuningFigures,
        UncertaintyFigures,
        ValueModelFigures,
    )
    from reports.publish import Published, publish_report
    from reports.realized_report import RealizedReport, publish_realized
    from reports.roi_report import RoiReport, build_report
    from tracker.config import Settings, load_settings
    from tracker.errors import ConfigError, TrackerError, UsageError
    from tracker.library import realized, run_sweep
    from tracker.record import Record
    from tuning.champion import BestTrial, SweepSummary
    from tuning.sweep import SweepInterrupted

__all__ = [
    "BestTrial",
    "ConfigError",
    "Estimating",
    "HeadlineFigures",
    "MonthFigures",
    "PlanFigures",
    "Provenance",
    "Published",
    "RealizedFigures",
    "RealizedHeadline",
    "RealizedReport",
    "Record",
    "RoiFigures",
    "RoiReport",
    "Settings",
    "SpendFigures",
    "SpendFilter",
    "SpendRow",
    "SpendTable",
    "SweepInterrupted",
    "SweepSummary",
    "ToDateFigures",
    "TrackerError",
    "TuningFigures",
    "UncertaintyFigures",
    "UsageError",
    "ValueModelFigures",
    "__version__",
    "build_report",
    "fetch_spend",
    "load_settings",
    "publish_realized",
    "publish_report",
    "realized",
    "run_sweep",
    "spend_filter",
    "spend_for",
]

# Where each name lives; the figure types are all in reports.figures.
_WHERE = {
    "BestTrial": "tuning.champion",
    "ConfigError": "tracker.errors",
    "Estimating": "cost.service",
    "Published": "reports.publish",
    "RealizedReport": "reports.realized_report",
    "Record": "tracker.record",
    "RoiReport": "reports.roi_report",
    "Settings": "tracker.config",
    "SpendFilter": "cost.table",
    "SpendRow": "cost.table",
    "SpendTable": "cost.table",
    "SweepInterrupted": "tuning.sweep",
    "SweepSummary": "tuning.champion",
    "TrackerError": "tracker.errors",
    "UsageError": "tracker.errors",
    "build_report": "reports.roi_report",
    "fetch_spend": "cost.service",
    "load_settings": "tracker.config",
    "publish_realized": "reports.realized_report",
    "publish_report": "reports.publish",
    "realized": "tracker.library",
    "run_sweep": "tracker.library",
    "spend_filter": "cost.service",
    "spend_for": "cost.service",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # Looked up on first use: importlib.metadata costs more than the rest of `tracker --help`.
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("tracker-roi")
        except PackageNotFoundError:  # running from a source tree that was never installed
            return "0+unknown"
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    if name in __all__:
        return getattr(importlib.import_module("reports.figures"), name)
    raise AttributeError(f"module 'tracker' has no attribute {name!r}")
