"""What page 1 says before any figure: warnings a finance reader must see, and notes on what was assumed.

Pure: the evidence, the assumptions and the valuation in; sentences out. The plausibility
checks catch inputs more likely a typo than a business case; each warning names the
setting that would change it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from reports import roi
from reports.inputs import basis
from tracker.config import likely
from tracker.metrics import EXPECTED_VALUE
from tracker.money import grouped
from tracker.record.layout import val_metric

if TYPE_CHECKING:
    from reports.gather import Evidence
    from tracker.config import RoiConfig, Settings

__all__ = ["double_counting", "estimated_alongside", "notes", "plausibility", "warnings"]

# Billed and estimated spend further apart than this are worth a word on page 1.
SPEND_MISMATCH = Decimal(10)
# Plausibility: figures past these are more likely a typo than a business case.
VOLUME_PER_TEST_ROW = Decimal(100)
DEVELOPMENT_SHARE_OF_A_MONTH = Decimal("0.01")
ROI_PLAUSIBLE = Decimal(100)  # 10,000%


def double_counting(roi_config: RoiConfig) -> bool:
    """A positive value for a catch and a negative one for a miss usually count one customer twice."""
    v = roi_config.value_per_outcome
    return v is not None and likely(v.false_negative) < 0 and likely(v.true_positive) > 0


def warnings(
    evidence: Evidence,
    assumptions: roi.Assumptions,
    settings: Settings,
    result: roi.Valuation,
    capacity_binds: bool,
) -> tuple[str, ...]:
    """What a finance reader must see on page 1 before trusting the figures."""
    out = list(evidence.spend.warnings)
    cur = assumptions.currency
    w = evidence.window
    on_purpose = settings.cost.window_reason is not None
    if not w.overlaps_runs and not on_purpose:
        out.append(
            f"The spend window {w.start or 'from the start'} to {w.end or 'today'} does not overlap the runs "
            f"({w.runs_first} to {w.runs_last}); the development cost may belong to something else. If the "
            "window was chosen on purpose, say why in cost.window_reason."
        )
    if assumptions.cloud_cost is None:
        out.append("No cloud spend was found for the project's tags in the spend window.")
    elif evidence.spend.total < 0:
        surplus = grouped(-evidence.spend.total)
        out.append(
            f"Credits and refunds exceed the cloud usage by {surplus} {cur}: the cloud cost counts as 0.00 {cur}, "
            "and the surplus reduces no other cost."
        )
    estimated = estimated_alongside(evidence)
    billed = assumptions.cloud_cost
    comparable = cur == "USD"  # the sweep's estimate is priced in USD
    if estimated is not None and billed is not None and comparable and not on_purpose and (billed > 0 or estimated > 0):
        low, high = sorted((abs(billed), abs(estimated)))
        if low == 0 or high / low > SPEND_MISMATCH:
            out.append(
                f"Billed spend ({grouped(billed)} {cur}) and the sweep's estimate from trial durations "
                f"({grouped(estimated)} USD) differ more than {SPEND_MISMATCH}-fold: check that the tags and the "
                "window select this project's work, or say why in cost.window_reason."
            )
    if evidence.task == "classification" and double_counting(settings.roi):
        out.append(
            "The value model gives a catch a positive value and a miss a negative one, so each catch counts "
            f"{grouped(assumptions.value_of_a_catch)} {cur}: usually the same customer twice. "
            "Value each outcome against doing nothing, or use roi.action."
        )
    out.extend(plausibility(evidence, assumptions, result))
    if capacity_binds:
        out.append(
            f"The capacity of {grouped(assumptions.capacity_per_month or Decimal(0), 0)} actions a month binds: "
            "the threshold was raised to stay within it, and the value is what that capacity can earn."
        )
    return tuple(out)


def plausibility(evidence: Evidence, assumptions: roi.Assumptions, result: roi.Valuation) -> list[str]:
    """Figures more likely a typo than a business case: each a warning on page 1 and on the terminal."""
    out = []
    cur = assumptions.currency
    test_rows = Decimal(len(evidence.test))
    volume = assumptions.predictions_per_month
    if test_rows and volume > VOLUME_PER_TEST_ROW * test_rows:
        out.append(
            f"Implausible volume: {grouped(volume, 0)} predictions a month is more than {VOLUME_PER_TEST_ROW:.0f} "
            f"times the {grouped(test_rows, 0)} rows the model was evaluated on; check roi.predictions_per_month."
        )
    development = result.development_cost
    if development is not None and development > 0:
        if development < Decimal("0.01"):
            out.append(
                f"Implausible development cost: {development:.6f} {cur} is below one cent; the spend found is "
                "probably not this project's (check the cost source, its tags and its window) or people's time "
                "is missing from roi.one_off_costs."
            )
        elif result.monthly_benefit > 0 and development < DEVELOPMENT_SHARE_OF_A_MONTH * result.monthly_benefit:
            out.append(
                f"Implausible development cost: {grouped(development)} {cur} is less than 1% of one month's "
                f"benefit ({grouped(result.monthly_benefit)} {cur}); is people's time in roi.one_off_costs?"
            )
    if result.roi is not None and result.roi > ROI_PLAUSIBLE:
        out.append(
            f"Implausible return: an ROI of {grouped(100 * result.roi, 0)}% is above 10,000%; check the "
            "values per outcome, the volume and the costs before acting on it."
        )
    return out


def estimated_alongside(evidence: Evidence) -> Decimal | None:
    """The sweep's own estimate from trial durations, to set beside billed spend; None for an estimate."""
    if evidence.spend.source == "estimate" or not evidence.trials:
        return None
    return sum((Decimal(str(t.cost_estimated)) for t in evidence.trials), Decimal(0))


def notes(
    evidence: Evidence, assumptions: roi.Assumptions, settings: Settings, test_positive_rate: Decimal | None
) -> tuple[str, ...]:
    """What the figures assume, said once on page 1."""
    out = []
    if test_positive_rate is not None and assumptions.production_positive_rate is None:
        out.append(
            f"Production is assumed to have the test set's positive rate ({test_positive_rate:.1%}); "
            "set roi.production_positive_rate to correct it."
        )
    if evidence.metric_key == val_metric(EXPECTED_VALUE):
        out.append(
            "The sweep optimised this money directly: objective.metric expected_value, the expected value per "
            "prediction on validation, each trial at its own best threshold."
        )
    w = evidence.window
    out.append(
        f"Development spend: {w.start or 'from the start'} to {w.end or 'today'} ({w.chosen_by}), "
        f"{basis(evidence)}, from {evidence.spend.source}."
    )
    if settings.cost.window_reason is not None:
        reason = settings.cost.window_reason.rstrip()
        out.append(f"The spend window and tags were chosen on purpose: {reason.rstrip('.')}.")
    if evidence.running is not None:
        months = ", ".join(evidence.running.months)
        out.append(f"Running cost measured from the bill: the average of {months}.")
    return tuple(out)
