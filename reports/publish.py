"""Publishing a report: the three files written, then logged with the headline figures on the sweep's run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reports.build import Report
from reports.render import render_html, render_pdf, write_set_atomic
from tracker.runs import RunStore

__all__ = ["Published", "publish_report"]

# The headline figures logged as metrics on the parent run, so the MLflow UI compares sweeps by them.
HEADLINE_METRICS = ("roi", "net_benefit", "monthly_benefit", "development_cost", "payback_months")


@dataclass(frozen=True)
class Published:
    files: tuple[str, ...]
    logged_on: str | None


def publish_report(
    report: Report,
    *,
    pdf: Path,
    html: Path,
    json_path: Path,
    store: RunStore,
    paper: str = "a4",
    on_refused: Callable[[str], None] | None = None,
) -> Published:
    """Write ``json_path``, ``html`` and ``pdf`` (each atomically) and log them on the sweep's parent run."""
    page = render_html(report, paper=paper)
    document = render_pdf(page, report, on_refused=on_refused)
    files = [(json_path, json.dumps(report.data, indent=2).encode()), (html, page.encode()), (pdf, document)]
    # As a set: a full disk never leaves a new HTML beside an old PDF.
    write_set_atomic(files)
    written = [str(path) for path, _ in files]
    if report.parent_run_id is None:
        return Published(tuple(written), None)
    headline = report.headline
    figures = {key: float(headline[key]) for key in HEADLINE_METRICS if headline.get(key) is not None}
    store.log_report(report.parent_run_id, written, figures)
    return Published(tuple(written), report.parent_run_id)
