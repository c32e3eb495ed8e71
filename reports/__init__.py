"""Money and quality out: the ROI model and the PDF, HTML and JSON reports.

What the package offers is loaded on first use (``from reports import build_report``), so
that importing the pure ROI model does not import MLflow, matplotlib and WeasyPrint.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "Published",
    "RealizedReport",
    "RoiReport",
    "build_realized",
    "build_report",
    "publish_realized",
    "publish_report",
]

_WHERE = {
    "Published": "reports.publish",
    "RealizedReport": "reports.realized_report",
    "RoiReport": "reports.roi_report",
    "build_realized": "reports.realized_report",
    "build_report": "reports.roi_report",
    "publish_realized": "reports.realized_report",
    "publish_report": "reports.publish",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'reports' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
