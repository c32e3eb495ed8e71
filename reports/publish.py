"""Publishing a report: the three files written as a set, then logged with its figures on the sweep's run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from reports.render import Renderable, figures_json, render_html, render_pdf, repair_set, write_set_atomic
from tracker.record import layout

if TYPE_CHECKING:
    from reports.figures import RoiFigures
    from reports.roi_report import RoiReport
    from tracker.record import Record

__all__ = [
    "Published",
    "headline_metrics",
    "publish_report",
    "repair_files",
    "report_set",
    "version_tags",
    "write_files",
]


@dataclass(frozen=True)
class Published:
    """What publishing did: the files written, the run they were logged on, the versions tagged."""

    files: tuple[str, ...]
    logged_on: str | None
    # The registered versions ("name/version") tagged with the model's value.
    versions: tuple[str, ...] = ()


def publish_report(
    report: RoiReport,
    *,
    pdf: Path,
    html: Path,
    json_path: Path,
    record: Record,
    paper: str = "a4",
    on_refused: Callable[[str], None] | None = None,
) -> Published:
    """Write ``json_path``, ``html`` and ``pdf`` as a set and log them on the sweep's parent run."""
    written = write_files(report, pdf=pdf, html=html, json_path=json_path, paper=paper, on_refused=on_refused)
    if report.parent_run_id is None:
        return Published(tuple(written), None)
    figures = {key: float(value) for key, value in headline_metrics(report.figures).items()}
    record.artifacts.log_report(report.parent_run_id, written, figures)
    versions = record.artifacts.value_the_model(report.best_run_id, written, version_tags(report))
    return Published(tuple(written), report.parent_run_id, tuple(versions))


def write_files(
    report: Renderable,
    *,
    pdf: Path,
    html: Path,
    json_path: Path,
    paper: str = "a4",
    on_refused: Callable[[str], None] | None = None,
) -> list[str]:
    """The JSON, the HTML and the PDF (the JSON attached), written as a set; their paths."""
    page = render_html(report, paper=paper)
    document = render_pdf(page, report, on_refused=on_refused)
    contents = (figures_json(report), page.encode(), document)
    files = list(zip(report_set(pdf=pdf, html=html, json_path=json_path), contents, strict=True))
    # As a set: a full disk or a kill never leaves a new HTML beside an old PDF.
    write_set_atomic(files)
    return [str(path) for path, _ in files]


def report_set(*, pdf: Path, html: Path, json_path: Path) -> list[Path]:
    """A report's files in the order they are written and journalled (the JSON first)."""
    return [Path(json_path), Path(html), Path(pdf)]


def repair_files(*, pdf: Path, html: Path, json_path: Path) -> None:
    """Finish or clear what a killed run left of these files' set: the first thing a report run does."""
    repair_set(report_set(pdf=pdf, html=html, json_path=json_path))


def version_tags(report: RoiReport) -> dict[str, str]:
    """What the model is worth, for its registered version: the report's own figures, as text."""
    h = report.figures.headline
    tags = {
        layout.VERSION_TAG_NPV: str(h.npv),
        layout.VERSION_TAG_NET_BENEFIT: str(h.net_benefit),
        layout.VERSION_TAG_CURRENCY: h.currency,
        layout.VERSION_TAG_ROI: str(h.roi_percent) if h.roi_percent is not None else "undefined",
    }
    if report.parent_run_id is not None:
        tags[layout.VERSION_TAG_REPORT_RUN] = report.parent_run_id
    return tags


def headline_metrics(figures: RoiFigures) -> dict[str, Decimal]:
    """The headline figures that are defined, as the report states them (money to the cent, ratios to
    four places), under their metric names; MLflow stores each as the nearest float."""
    h, vm = figures.headline, figures.value_model
    values = (
        h.npv,
        h.npv_all_costs,
        vm.roi,
        h.net_benefit,
        h.monthly_benefit,
        h.development_cost,
        vm.payback_months,
        h.probability_npv_positive,
    )
    return {key: value for key, value in zip(layout.HEADLINE_METRICS, values, strict=True) if value is not None}
