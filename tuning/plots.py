"""Optuna's own plots of a finished sweep, kept on its parent run (what optuna-dashboard shows
and MLflow does not): the optimisation history, the parameters' importance, the parallel
coordinates and the intermediate values. Each is a PNG, and one HTML page shows them all
(MLflow's artifact view displays both). Drawn with Optuna's matplotlib backend: no plotly."""

from __future__ import annotations

import base64
import html
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

__all__ = ["PLOTS_FOLDER", "draw_plots"]

# Where on the parent run the plots are logged.
PLOTS_FOLDER = "optuna"


def draw_plots(study: optuna.Study, folder: Path) -> list[Path]:
    """The plots that the study's trials allow, written into ``folder``; the files written."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if len(complete) < 2 or len(study.directions) > 1:
        return []
    varied = {name for t in complete for name in t.params if len({repr(u.params.get(name)) for u in complete}) > 1}
    wanted: list[tuple[str, str, Callable[..., Any]]] = [
        ("history", "Optimisation history", plots.plot_optimization_history)
    ]
    if varied:
        wanted.append(("importance", "Parameter importance (fANOVA)", plots.plot_param_importances))
        wanted.append(("parallel", "Parallel coordinates", plots.plot_parallel_coordinate))
    if any(t.intermediate_values for t in complete):
        wanted.append(("intermediate", "Intermediate values", plots.plot_intermediate_values))
    written: list[tuple[str, Path]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks its matplotlib backend experimental
        for name, title, plot in wanted:
            axes = plot(study)
            figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
            figure.set_size_inches(9, 5.5)
            path = folder / f"{name}.png"
            figure.savefig(path, dpi=100, bbox_inches="tight")
            plt.close(figure)
            written.append((title, path))
    page = folder / "plots.html"
    page.write_text(_page(study.study_name, written))
    return [path for _, path in written] + [page]


def _page(study: str, plots: list[tuple[str, Path]]) -> str:
    sections = "".join(
        f"<h2>{html.escape(title)}</h2>"
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'
        for title, path in plots
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Optuna study {html.escape(study)}</title>"
        "<style>body{font-family:sans-serif;margin:1em}img{max-width:100%}</style></head>"
        f"<body><h1>Optuna study {html.escape(study)}</h1>{sections}</body></html>"
    )
