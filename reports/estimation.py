"""What a month's unlabelled predictions are expected to hold, from the model's calibrated scores.

Confidence-based performance estimation: a flagged row of calibrated score s is a true
positive with chance s and a false positive otherwise; a row not flagged is a missed
positive with chance s. Outcomes do not arrive at random, though: a subscriber's is often
known first. :func:`label_odds` checks the month's labels for that, and when they favour
one outcome beyond chance, moves the unlabelled rows' odds to match. Labelled rows are
never scaled up to stand for the rest. Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import NormalDist

from reports.alerts import ALPHA
from reports.outcomes import MonthOutcomes
from tracker.money import ZERO
from tracker.value import Confusion

__all__ = ["Expected", "expected_outcomes", "label_odds"]

# Expected counts are kept to a millionth of a case: sums of float scores carry no more.
_COUNT = Decimal("0.000001")
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Expected:
    """Outcome counts expected among a month's unlabelled rows (fractions of a case)."""

    tp: Decimal = ZERO
    fp: Decimal = ZERO
    fn: Decimal = ZERO
    tn: Decimal = ZERO

    @property
    def positives(self) -> Decimal:
        return self.tp + self.fn


def expected_outcomes(test: Confusion, outcomes: MonthOutcomes) -> Expected:
    """The unlabelled rows' expected outcomes (classification), from their calibrated scores.

    A score s is the chance of a positive; an unlabelled row's chance is s with its odds
    scaled by how much likelier a positive's label is to have arrived
    (:func:`label_odds`): 1 while labels arrive regardless of the outcome. A log without
    scores (``y_pred`` only) takes the test set's share of positives among the flagged and
    among the rest instead.
    """
    if outcomes.scored:
        groups: Sequence[tuple[bool, int, float]] = outcomes.unlabelled
        odds = label_odds(outcomes)
    else:
        t = test
        flagged = outcomes.flagged - outcomes.tp - outcomes.fp
        rest = outcomes.predictions - outcomes.flagged - outcomes.fn - outcomes.tn
        groups = (
            (True, flagged, flagged * float(_share(t.tp, t.tp + t.fp))),
            (False, rest, rest * float(_share(t.fn, t.fn + t.tn))),
        )
        odds = 1.0
    positives = {True: 0.0, False: 0.0}
    rows = {True: 0, False: 0}
    for flagged_bin, count, score_sum in groups:
        if count:
            mean = score_sum / count
            positives[flagged_bin] += count * mean * odds / (mean * odds + 1 - mean)
            rows[flagged_bin] += count
    tp, fn = (Decimal(repr(positives[f])).quantize(_COUNT) for f in (True, False))
    return Expected(tp, Decimal(rows[True]) - tp, fn, Decimal(rows[False]) - fn)


def label_odds(outcomes: MonthOutcomes) -> float:
    """How much likelier a positive's outcome is to be known than a negative's, as an odds ratio
    for the unlabelled rows: (1 − a) / (1 − b), a and b the shares of positives and negatives labelled.

    1 unless the month's labelled positives differ from what labels arriving at random would
    give, beyond chance (two-sided at ALPHA): with a share q labelled at random, the labelled
    positives number q·Σs, with variance q·Σs − q²·Σs². Otherwise a = labelled positives ÷ Σs
    and b = labelled negatives ÷ (n − Σs), Σs the month's expected positives.
    """
    n, labelled = outcomes.predictions, outcomes.labelled
    if not labelled or labelled == n:
        return 1.0
    q = labelled / n
    expected = outcomes.score_flagged + outcomes.score_rest
    known_positives = outcomes.tp + outcomes.fn
    spread = math.sqrt(max(q * expected - q * q * outcomes.score_squares, 1e-12))
    if abs(known_positives - q * expected) / spread < _NORMAL.inv_cdf(1 - ALPHA / 2):
        return 1.0
    a = min(known_positives / expected, 1.0) if expected > 0 else 1.0
    b = min((outcomes.fp + outcomes.tn) / (n - expected), 1.0) if n > expected else 1.0
    return min(max((1 - a) / max(1 - b, 1e-3), 1e-3), 1e3)


def _share(part: int, whole: int) -> Decimal:
    return Decimal(part) / Decimal(whole) if whole else ZERO
