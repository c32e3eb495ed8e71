"""Charts as inline SVG, drawn by matplotlib without a display."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

__all__ = ["cumulative_chart", "progress_chart", "psi_chart", "tornado_chart"]

_INK = "#1f2a44"
_ACCENT = "#2f7d6d"
_MUTED = "#a9b3c1"
_WARN = "#c0504d"
_salt = itertools.count()


_STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.edgecolor": _MUTED,
    "axes.labelcolor": _INK,
    "xtick.color": _INK,
    "ytick.color": _INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
}


@contextmanager
def _chart(width: float, height: float) -> Iterator[tuple[Any, Any]]:
    """A figure and its axes in our style, drawn and saved inside; the caller's matplotlib is left as it was.

    A ``Figure`` of its own, not pyplot's: no global figure manager, no backend switched,
    and the style lives in an ``rc_context`` that ends with the chart.
    """
    import warnings

    import matplotlib
    from matplotlib.figure import Figure

    # Each chart's element ids differ, so several SVGs can share one page.
    style: Any = {**_STYLE, "svg.hashsalt": f"chart-{next(_salt)}"}
    with matplotlib.rc_context(style), warnings.catch_warnings():
        # The SVG keeps its text as text (svg.fonttype none): the PDF draws it with the page's
        # fonts, which fall back to any installed font that covers it (docs: fonts). That
        # matplotlib's own DejaVu Sans lacks a glyph of a user's label is no news for the user.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from", category=UserWarning)
        fig = Figure(figsize=(width, height))
        yield fig, fig.subplots()


def _grouped_ticks(axis: Any) -> None:
    """Money on an axis as finance prints it: thousands separators, no scientific offset."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.0f}"))


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", dpi=150)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def progress_chart(
    xs: Sequence[float],
    values: Sequence[float | None],
    *,
    maximize: bool,
    xlabel: str,
    ylabel: str,
    money_axis: bool = False,
) -> str:
    """Each trial's value as a dot, and the best so far as a step line; ``money_axis``: x is money."""
    with _chart(6.4, 2.1) as (fig, ax):
        points = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
        if points:
            # Thousands of dots as vector paths make a PDF slow to draw and to open: past a few
            # hundred, the dots (only) become one embedded bitmap inside the SVG.
            ax.scatter(
                [p[0] for p in points],
                [p[1] for p in points],
                s=9,
                color=_MUTED,
                label="trial",
                zorder=2,
                rasterized=len(points) > 300,
            )
            best: list[float] = []
            current: float | None = None
            for _, value in points:
                current = value if current is None else (max(current, value) if maximize else min(current, value))
                best.append(current)
            ax.step(
                [p[0] for p in points], best, where="post", color=_ACCENT, linewidth=1.6, label="best so far", zorder=3
            )
            ax.legend(frameon=False, loc="lower right" if maximize else "upper right")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if money_axis:
            _money_ticks(ax.xaxis, max(xs, default=0.0))
        return _svg(fig)


def _money_ticks(axis: Any, largest: float) -> None:
    """Money ticks a reader can take in: grouped, to the cent; a sweep's fractions of a cent as
    a few digits times a power of ten (1.25 ×10⁻⁴), never a long run of decimals."""
    from matplotlib.ticker import FuncFormatter, ScalarFormatter

    if largest >= 0.01:
        places = 0 if largest >= 100 else 2
        axis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:,.{places}f}"))
        return
    tiny = ScalarFormatter(useMathText=True)
    tiny.set_powerlimits((0, 0))  # always as a multiple of a power of ten
    axis.set_major_formatter(tiny)


def tornado_chart(
    rows: Sequence[tuple[str, Decimal | None, Decimal | None]], centre: Decimal | None, *, xlabel: str
) -> str:
    """Bars from the figure at -20% to the figure at +20% of each assumption, widest on top."""
    usable = [(name, float(low), float(high)) for name, low, high in rows if low is not None and high is not None]
    with _chart(6.4, 0.35 * max(len(usable), 2) + 0.8) as (fig, ax):
        mid = float(centre) if centre is not None else 0.0
        for index, (_name, low, high) in enumerate(reversed(usable)):
            ax.barh(index, low - mid, left=mid, color=_WARN if low < mid else _ACCENT, height=0.6)
            ax.barh(index, high - mid, left=mid, color=_ACCENT if high > mid else _WARN, height=0.6)
        ax.axvline(mid, color=_INK, linewidth=0.8)
        ax.set_yticks(range(len(usable)), [name for name, _, _ in reversed(usable)])
        ax.set_xlabel(xlabel)
        _grouped_ticks(ax.xaxis)
        return _svg(fig)


def cumulative_chart(
    months: Sequence[str],
    planned: Sequence[Decimal],
    realized: Sequence[Decimal],
    *,
    estimated: Sequence[bool],
    ylabel: str,
) -> str:
    """Cumulative planned and realized net benefit by month, every month; dashed into a month that is
    partly or wholly estimated (its outcomes not all known), solid into one whose outcomes are known."""
    with _chart(6.4, 2.4) as (fig, ax):
        x = list(range(len(months)))
        ys = [float(v) for v in realized]
        ax.plot(x, [float(v) for v in planned], color=_MUTED, linewidth=1.6, linestyle=":", label="plan")
        for i in range(len(x)):
            style = "--" if estimated[i] else "-"
            if i:
                ax.plot(x[i - 1 : i + 1], ys[i - 1 : i + 1], color=_ACCENT, linewidth=1.8, linestyle=style)
            face = "white" if estimated[i] else _ACCENT
            ax.plot([x[i]], [ys[i]], color=_ACCENT, marker="o", markerfacecolor=face, linestyle="none")
        ax.plot([], [], color=_ACCENT, linewidth=1.8, marker="o", label="realized")
        if any(estimated):
            ax.plot([], [], color=_ACCENT, linewidth=1.8, linestyle="--", marker="o", markerfacecolor="white",
                    label="estimated (outcomes still arriving)")  # fmt: skip
        ax.axhline(0, color=_INK, linewidth=0.6)
        ax.set_xticks(x, months, rotation=0)
        ax.set_ylabel(ylabel)
        _grouped_ticks(ax.yaxis)
        ax.legend(frameon=False, loc="upper left")
        return _svg(fig)


def psi_chart(months: Sequence[str], values: Sequence[float]) -> str:
    """PSI of the production scores by month, with the usual 0.1 and 0.25 lines (the floors of the limits)."""
    with _chart(6.4, 2.0) as (fig, ax):
        x = list(range(len(months)))
        colours = [_WARN if v > 0.25 else (_MUTED if v >= 0.1 else _ACCENT) for v in values]
        ax.bar(x, list(values), color=colours, width=0.6)
        for level in (0.1, 0.25):
            ax.axhline(level, color=_INK, linewidth=0.6, linestyle=":")
        ax.set_xticks(x, months)
        ax.set_ylabel("PSI")
        return _svg(fig)
