"""Rendering: Jinja2 templates to HTML, WeasyPrint to PDF, files written atomically.

Templates autoescape and fail on undefined names. The PDF renderer fetches nothing: the
stylesheet and the charts are inline, and every other URL (an ``<img>``, a ``file://`` or
``http://`` address that found its way into a run name, tag or config value) is refused,
so such text is shown as text and never loaded.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Protocol

from reports.figures import RealizedFigures, RoiFigures
from tracker.errors import TrackerError
from tracker.money import grouped

__all__ = [
    "Renderable",
    "figures_json",
    "render_html",
    "render_pdf",
    "repair_set",
    "write_atomic",
    "write_set_atomic",
]


class Renderable(Protocol):
    """A report as the renderer takes it: its figures, its charts, the template and the attachment's name."""

    @property
    def figures(self) -> RoiFigures | RealizedFigures: ...

    @property
    def charts(self) -> dict[str, str]: ...

    template: ClassVar[str]
    attachment: ClassVar[str]


def figures_json(report: Renderable) -> bytes:
    """The report's figures as its JSON file holds them (and the PDF carries them)."""
    return json.dumps(report.figures.to_json(), indent=2).encode()


PAPER = {"a4": "A4", "letter": "Letter"}


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: never a half-written file in its place."""
    write_set_atomic([(Path(path), data)])


def write_set_atomic(files: Sequence[tuple[Path, bytes]]) -> None:
    """Write several files as a set: after any failure or kill, readers see all old or all new.

    Each file is written in full to a temporary file beside its target and synced. Then a
    journal naming every (temporary, target) pair is written beside the first target: the
    commit point. Then the temporaries are renamed into place and the journal removed. A
    run killed before the journal leaves the old set (and temporaries the next run
    removes); one killed after it leaves the journal, and :func:`repair_set`, which every
    run does first, completes the renames. A full disk leaves the old files and says which
    file did not fit.
    """
    paths = [Path(path) for path, _ in files]
    repair_set(paths)
    temporaries: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            temporaries.append((_write_temporary(Path(path), data), Path(path)))
        journal = _journal(paths)
        _write_journal(journal, temporaries)
    except BaseException:
        for temporary, _ in temporaries:
            temporary.unlink(missing_ok=True)
        raise
    _roll_forward(journal, temporaries)


def repair_set(paths: Sequence[Path]) -> None:
    """Finish a set a killed run committed (its journal is there), and remove what one left half-made.

    Called before anything else by each run that writes ``paths``.
    """
    paths = [Path(path) for path in paths]
    journal = _journal(paths)
    journal.with_name(journal.name + ".partial").unlink(missing_ok=True)
    if journal.exists():
        try:
            moves = [(Path(a), Path(b)) for a, b in json.loads(journal.read_text())["moves"]]
        except (OSError, ValueError, KeyError, TypeError):
            moves = []  # a journal cut short was never the commit point: the old set stands
        _roll_forward(journal, moves)
    for path in paths:
        left = re.compile(rf"^\.{re.escape(path.name)}\.[A-Za-z0-9_]{{8}}$")
        try:
            for stray in path.parent.iterdir():
                if left.match(stray.name):
                    stray.unlink(missing_ok=True)
        except OSError:
            continue


def _journal(paths: Sequence[Path]) -> Path:
    """The set's journal: beside its first file, named after it."""
    first = Path(paths[0])
    return first.parent / f".tracker-set.{first.name}"


def _write_journal(journal: Path, moves: Sequence[tuple[Path, Path]]) -> None:
    text = json.dumps({"moves": [[str(a), str(b)] for a, b in moves]})
    partial = journal.with_name(journal.name + ".partial")
    with partial.open("w") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, journal)
    _sync_folder(journal.parent)


def _roll_forward(journal: Path, moves: Sequence[tuple[Path, Path]]) -> None:
    for temporary, path in moves:
        if temporary.exists():
            os.replace(temporary, path)
    for folder in {path.parent for _, path in moves}:
        _sync_folder(folder)
    journal.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (a power cut after them keeps them)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _write_temporary(path: Path, data: bytes) -> Path:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise _write_error(exc, path) from exc
    temporary = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise _write_error(exc, path) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _write_error(exc: OSError, path: Path) -> TrackerError:
    if exc.errno == errno.ENOSPC:
        return TrackerError(f"no space left on device while writing {path}; the old files are unchanged")
    return TrackerError(f"cannot write {path}: {exc.strerror or exc}; the old files are unchanged")


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = lambda name: str(name).replace("_", " ")
    # A figure that may be undefined (None), with what to show then; a zero is still shown as zero.
    env.filters["or_else"] = lambda value, text: text if value is None else value
    # Numbers as finance prints them; the JSON keeps every figure exact.
    env.filters["money"] = lambda value: "–" if value is None else grouped(Decimal(value))
    env.filters["count"] = lambda value: "–" if value is None else grouped(Decimal(value), 0)
    env.filters["pct"] = lambda value: "–" if value is None else f"{grouped(Decimal(value), 0)}%"
    env.filters["percent"] = percent_of_rate
    env.filters["sig4"] = lambda value: f"{float(value):.4g}"
    env.filters["number"] = plain_number
    return env


def plain_number(value: Decimal | None) -> str:
    """A number that may be money, a count or a rate: grouped, to the cent at most, short when small."""
    if value is None:
        return "–"
    if value == value.to_integral_value():
        return grouped(value, 0)
    if abs(value) >= 1:
        return grouped(value)
    return f"{value:.4f}".rstrip("0")


def percent_of_rate(rate: Decimal | float | None) -> str:
    """A rate as a percent, whole or to one decimal: 0.10 -> "10%", 0.115 -> "11.5%"."""
    if rate is None:
        return "–"
    text = grouped(Decimal(str(rate)) * 100, 1)
    return f"{text.removesuffix('.0')}%"


def render_html(report: Renderable, *, paper: str = "a4") -> str:
    """The report's HTML page: its template filled with its figures and charts, the stylesheet inline."""
    import yaml
    from markupsafe import Markup

    env = _environment()
    css = env.loader.get_source(env, "report.css")[0]
    template = env.get_template(report.template)
    figures = report.figures
    page: str = template.render(
        r=figures,
        h=figures.headline,
        # The charts are our own SVG, drawn from numbers: the only markup not escaped.
        charts={name: Markup(svg) for name, svg in report.charts.items()},
        css=Markup(css.replace("__PAPER__", PAPER[paper])),
        config_yaml=yaml.safe_dump(figures.provenance.config, sort_keys=False, allow_unicode=True),
        figures_json=figures_json(report).decode(),
    )
    return page


def _fetcher(refused: list[str]) -> Any:
    from weasyprint.urls import URLFetcher

    def fetch(self: Any, url: str, headers: Any = None) -> Any:
        """Fetches only inline ``data:`` URLs; refuses files and the network."""
        if url.startswith("data:"):
            return URLFetcher.fetch(self, url, headers)
        refused.append(url)
        raise ValueError(f"the report fetches nothing from outside: {url}")

    # Made with type(): WeasyPrint's URLFetcher is untyped, and a class statement would subclass Any.
    return type("NothingFetcher", (URLFetcher,), {"fetch": fetch})()


class _OnlyErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR


def render_pdf(html: str, report: Renderable, *, on_refused: Callable[[str], None] | None = None) -> bytes:
    """The PDF of ``html``, with the report's figures attached under the report's attachment name."""
    from weasyprint import HTML, Attachment

    refused: list[str] = []
    fetcher = _fetcher(refused)
    attached = Attachment(
        string=figures_json(report),
        name=report.attachment,
        description="Every figure in this report",
        url_fetcher=fetcher,
    )
    # WeasyPrint logs each refused URL as a warning; they are reported once, below. The
    # filter is taken off again: the application's logging is the application's.
    quiet = _OnlyErrors()
    logger = logging.getLogger("weasyprint")
    logger.addFilter(quiet)
    try:
        pdf = HTML(string=html, base_url="about:blank", url_fetcher=fetcher).write_pdf(attachments=[attached])
    finally:
        logger.removeFilter(quiet)
    if on_refused is not None:
        for url in refused:
            on_refused(url)
    return bytes(pdf)
