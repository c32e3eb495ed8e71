"""The report's spend section: the development spend as the bill states it, line by line."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports import figures as f
from reports.checks import estimated_alongside
from tracker.money import cents, exact_text

if TYPE_CHECKING:
    from reports.analysis import Analysis
    from reports.gather import Evidence

__all__ = ["spend_figures"]

# A year of daily rows is for machines (they are all in the JSON); people get months.
_MOST_PERIODS_SHOWN = 31


def spend_figures(evidence: Evidence, analysis: Analysis) -> f.SpendFigures:
    """Where the spend came from, its total, and its lines by service, charge type and period."""
    spend, w = evidence.spend, evidence.window
    assumptions, development_cost = analysis.assumptions, analysis.result.development_cost
    by_charge_type = tuple(f.SpendLine(k, cents(v), exact_text(v)) for k, v in spend.by_charge_type().items())
    by_period = tuple(f.PeriodLine(p.isoformat(), q.isoformat(), cents(v)) for (p, q), v in spend.by_period().items())
    shown, shown_as = by_period, "period"
    if len(by_period) > _MOST_PERIODS_SHOWN:
        shown = tuple(f.PeriodLine(k, "", cents(v)) for k, v in spend.by_month().items())
        shown_as = "month"
    # The development cost, line by line: each charge type of the cloud bill, then each one-off cost.
    lines = [f.DevelopmentCostLine(f"cloud: {row.key}", row.amount) for row in by_charge_type]
    if analysis.credit_surplus > 0:
        # The cloud cost is floored at zero: the credits beyond usage reduce no other cost.
        lines.append(f.DevelopmentCostLine("cloud: credits beyond usage, not counted", cents(analysis.credit_surplus)))
    lines += [
        f.DevelopmentCostLine(f"one-off: {c.name}{' (spent)' if c.spent else ''}", cents(c.amount))
        for c in assumptions.one_off_costs
    ]
    return f.SpendFigures(
        source=spend.source,
        window=f.SpendWindowFigures(w.start, w.end, w.chosen_by, w.runs_first, w.runs_last),
        filter=spend.filter.to_json(),
        basis=analysis.spend_basis,
        metric=spend.filter.metric,
        currency=spend.currency,
        total=cents(spend.total),
        total_exact=exact_text(spend.total),
        estimated=spend.estimated,
        estimated_lines=sum(r.estimated for r in spend.rows),
        by_service=tuple(f.SpendLine(k, cents(v)) for k, v in spend.by_service().items()),
        by_charge_type=by_charge_type,
        development_cost_lines=tuple(lines),
        development_cost=f.money(development_cost),
        by_period=by_period,
        by_period_shown=shown,
        shown_as=shown_as,
        details=dict(spend.details),
        notes=tuple(spend.notes),
        estimated_alongside=_estimate_beside(evidence),
    )


def _estimate_beside(evidence: Evidence) -> f.EstimateBeside | None:
    """Billed beside estimated: the sweep's own per-trial estimates, already read with the runs."""
    estimated = estimated_alongside(evidence)
    if estimated is None:
        return None
    return f.EstimateBeside(cents(estimated), "USD", "the sweep's estimate from trial durations")
