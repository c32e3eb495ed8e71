"""The report's tuning section: what the sweep did, its best trials, and its progress charts."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from reports import figures as f
from tracker.money import cents
from tracker.record.layout import test_twin

if TYPE_CHECKING:
    from reports.gather import Evidence

__all__ = ["tuning_charts", "tuning_figures"]


def _short(value: str) -> str:
    """A logged parameter for a table: long floats to four significant digits."""
    try:
        number = float(value)
    except ValueError:
        return value
    return value if number.is_integer() or len(value) <= 8 else f"{number:.4g}"


def tuning_figures(evidence: Evidence) -> f.TuningFigures:
    metric_key, maximize = evidence.metric_key, evidence.direction == "maximize"
    counts: dict[str, int] = {}
    for t in evidence.trials:
        counts[t.state] = counts.get(t.state, 0) + 1
    done = [
        t for t in sorted(evidence.trials, key=lambda t: t.number) if t.state == "COMPLETE" and metric_key in t.metrics
    ]
    done.sort(key=lambda t: t.metrics[metric_key], reverse=maximize)
    top = tuple(
        f.TopTrial(
            trial=t.number,
            value=f.score(t.metrics[metric_key]),
            test=f.score(t.metrics.get(test_twin(metric_key))),
            params={k: _short(v) for k, v in sorted(t.params.items())},
            run_id=t.run_id,
        )
        for t in done[:5]
    )
    return f.TuningFigures(
        metric=metric_key,
        direction=evidence.direction,
        trials_by_state=dict(sorted(counts.items())),
        trials=len(evidence.trials),
        estimated_cost_usd=cents(sum((Decimal(str(t.cost_estimated)) for t in evidence.trials), Decimal(0))),
        top_trials=top,
        parameter_importances=evidence.importances,
        stop_reason=evidence.parent.stop_reason if evidence.parent is not None else None,
    )


def tuning_charts(evidence: Evidence) -> dict[str, str]:
    """The objective by trial and by cumulative estimated cost."""
    from reports.charts import progress_chart as draw

    ordered = sorted(evidence.trials, key=lambda t: t.number)
    values = [t.metrics.get(evidence.metric_key) if t.state == "COMPLETE" else None for t in ordered]
    cumulative: list[float] = []
    running = Decimal(0)
    for t in ordered:
        running += Decimal(str(t.cost_estimated))
        cumulative.append(float(running))
    maximize = evidence.direction == "maximize"
    return {
        "by_trial": draw(
            [t.number for t in ordered], values, maximize=maximize, xlabel="trial number", ylabel=evidence.metric_key
        ),
        "by_cost": draw(
            cumulative,
            values,
            maximize=maximize,
            xlabel="cumulative estimated cost (USD)",
            ylabel=evidence.metric_key,
            money_axis=True,
        ),
    }
