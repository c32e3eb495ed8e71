"""Publishing a report: the three files written, then logged with the headline figures on the sweep's run."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from reports.build import Report
from reports.render import render_html, render_pdf, write_set_atomic
from tracker.money import cents
from tracker.runs import RunStore

__all__ = ["HEADLINE_METRICS", "Published", "headline_metrics", "publish_report", "write_files"]

# The headline figures logged as metrics on the parent run, so the MLflow UI compares sweeps by them.
MONEY = frozenset({"npv", "net_benefit", "monthly_benefit", "development_cost"})
RATIO = Decimal("0.0001")
HEADLINE_METRICS = (
    "npv",
    "roi",
    "net_benefit",
    "monthly_benefit",
    "development_cost",
    "payback_months",
    "probability_npv_positive",
)


@dataclass(frozen=True)
class Published:
    files: tuple[str, ...]
    logged_on: str | None
    # The registered versions ("name/version") tagged with the model's value.
    versions: tuple[str, ...] = ()


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
    written = write_files(report, pdf=pdf, html=html, json_path=json_path, paper=paper, on_refused=on_refused)
    if report.parent_run_id is None:
        return Published(tuple(written), None)
    figures = {key: float(value) for key, value in headline_metrics(report).items()}
    store.log_report(report.parent_run_id, written, figures)
    versions = store.value_the_model(report.data["provenance"]["best_run_id"], written, version_tags(report))
    return Published(tuple(written), report.parent_run_id, tuple(versions))


def write_files(
    report: Report,
    *,
    pdf: Path,
    html: Path,
    json_path: Path,
    paper: str = "a4",
    on_refused: Callable[[str], None] | None = None,
    template_name: str = "report.html.j2",
    attachment: str = "roi.json",
) -> list[str]:
    """The JSON, the HTML and the PDF (the JSON attached), written as a set; their paths."""
    page = render_html(report, paper=paper, template_name=template_name)
    document = render_pdf(page, report, on_refused=on_refused, attachment=attachment)
    files = [(json_path, json.dumps(report.data, indent=2).encode()), (html, page.encode()), (pdf, document)]
    # As a set: a full disk never leaves a new HTML beside an old PDF.
    write_set_atomic(files)
    return [str(path) for path, _ in files]


def version_tags(report: Report) -> dict[str, str]:
    """What the model is worth, for its registered version: the report's own figures, as text."""
    h = report.data["headline"]
    tags = {"npv": h["npv"], "net_benefit": h["net_benefit"], "currency": h["currency"]}
    tags["roi_percent"] = h["roi_percent"] if h["roi_percent"] is not None else "undefined"
    if report.parent_run_id is not None:
        tags["report_run_id"] = report.parent_run_id
    return tags


def headline_metrics(report: Report) -> dict[str, Decimal]:
    """The headline figures that are defined, as the report shows them (money to the cent, ratios to
    four places); MLflow stores each as the nearest float."""
    h = report.headline
    if h is None:
        return {}
    figures = {key: getattr(h, key) for key in HEADLINE_METRICS}
    return {
        key: cents(value) if key in MONEY else value.quantize(RATIO, ROUND_HALF_UP)
        for key, value in figures.items()
        if value is not None
    }
