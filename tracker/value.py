"""The expected value of binary decisions: exact, pure, shared by the sweep and the report.

Each outcome of a decision has a value, measured against taking no action. The expected
value of one prediction weights the model's class-conditional rates (TPR, FPR) by the
production positive rate p (Provost & Fawcett, ch. 7); without p, the scored rows' own
rate is used. A sweep with ``objective.metric: expected_value`` maximises it on the
validation split; ``reports`` builds the ROI on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from tracker.money import ONE, ZERO

if TYPE_CHECKING:
    from tracker.config import RoiConfig

__all__ = [
    "Baseline",
    "Confusion",
    "OutcomeValues",
    "Scored",
    "baseline_of",
    "best_threshold",
    "confusion_at",
    "expected_value",
    "values_of",
]


@dataclass(frozen=True)
class Confusion:
    """Outcome counts of binary decisions (whole, or bootstrap-weighted)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def positive_rate(self) -> Decimal:
        return Decimal(self.tp + self.fn) / Decimal(self.n) if self.n else ZERO

    @property
    def tpr(self) -> Decimal:
        """Share of real positives flagged (recall); 0 when there are none."""
        positives = self.tp + self.fn
        return Decimal(self.tp) / Decimal(positives) if positives else ZERO

    @property
    def fpr(self) -> Decimal:
        """Share of real negatives flagged; 0 when there are none."""
        negatives = self.fp + self.tn
        return Decimal(self.fp) / Decimal(negatives) if negatives else ZERO


@dataclass(frozen=True)
class OutcomeValues:
    """Money per prediction with each outcome, against taking no action, and the production rate."""

    tp: Decimal
    fp: Decimal
    fn: Decimal
    tn: Decimal
    # None: the scored rows' own positive rate stands in for production's.
    production_positive_rate: Decimal | None = None


def expected_value(counts: Confusion, v: OutcomeValues) -> Decimal:
    """p·(TPR·v_TP + (1−TPR)·v_FN) + (1−p)·(FPR·v_FP + (1−FPR)·v_TN).

    Without a production rate, p is the rows' own rate, and this is Σ count × value ÷ n.
    """
    p = v.production_positive_rate if v.production_positive_rate is not None else counts.positive_rate
    tpr, fpr = counts.tpr, counts.fpr
    return p * (tpr * v.tp + (ONE - tpr) * v.fn) + (ONE - p) * (fpr * v.fp + (ONE - fpr) * v.tn)


BaselineKind = Literal["no_action", "act_on_all", "act_on_share", "better_of", "model"]

_BASELINE_WORDS = {
    "no_action": "acting on nobody",
    "act_on_all": "acting on everyone",
    "better_of": "the better of acting on nobody and acting on everyone",
}


@dataclass(frozen=True)
class Baseline:
    """What the business does without the model, which the model's value is measured against.

    ``no_action`` acts on nobody; ``act_on_all`` on every case (a campaign that calls every
    client); ``act_on_share`` on a random ``share`` of cases, so it catches that share of the
    positives and flags that share of the negatives; ``better_of`` is whichever of the first
    two is worth more under the production rate; ``model`` is another model's decisions
    (``reference`` names it), valued from its own test predictions.
    """

    kind: BaselineKind = "better_of"
    share: Decimal = ZERO
    reference: str | None = None

    def resolved(self, v: OutcomeValues, p: Decimal) -> Baseline:
        """``better_of`` made concrete under the production rate ``p``; any other kind as it is."""
        if self.kind != "better_of":
            return self
        everyone = Baseline("act_on_all").value_per_prediction(v, p)
        return (
            Baseline("act_on_all")
            if everyone > Baseline("no_action").value_per_prediction(v, p)
            else Baseline("no_action")
        )

    def value_per_prediction(self, v: OutcomeValues, p: Decimal) -> Decimal:
        """Expected value of one prediction when a random share s is acted on: TPR = FPR = s."""
        if self.kind == "model":
            raise ValueError("a model baseline is valued from its own predictions")
        if self.kind == "better_of":
            return self.resolved(v, p).value_per_prediction(v, p)
        s = {"no_action": ZERO, "act_on_all": ONE}.get(self.kind, self.share)
        return p * (s * v.tp + (ONE - s) * v.fn) + (ONE - p) * (s * v.fp + (ONE - s) * v.tn)

    @property
    def words(self) -> str:
        if self.kind == "act_on_share":
            return f"acting on a random {self.share:.0%} of cases"
        if self.kind == "model":
            return f"the {self.reference}"
        return _BASELINE_WORDS[self.kind]


def baseline_of(roi: RoiConfig) -> Baseline:
    """The ``roi.baseline`` setting as a :class:`Baseline` (``better_of`` when not given)."""
    given = roi.baseline
    if given is None:
        return Baseline("better_of")
    if isinstance(given, str):
        return Baseline("no_action" if given == "no_model" else given)
    kind, value = next(iter(given.items()))
    if kind == "act_on_share":
        return Baseline("act_on_share", share=Decimal(str(value)))
    return Baseline("model", reference=f"{kind} {value}")


def values_of(roi: RoiConfig) -> OutcomeValues | None:
    """The likely outcome values of the ``roi`` section (explicit, or implied by ``action``); None without them."""
    from tracker.config import likely

    rate = None if roi.production_positive_rate is None else likely(roi.production_positive_rate)
    if roi.action is not None:
        a = roi.action
        cost = likely(a.action_cost)
        caught = likely(a.success_rate) * likely(a.value_if_caught) - cost
        return OutcomeValues(caught, -cost, ZERO, ZERO, rate)
    v = roi.value_per_outcome
    if v is None:
        return None
    return OutcomeValues(
        likely(v.true_positive), likely(v.false_positive), likely(v.false_negative), likely(v.true_negative), rate
    )


@dataclass(frozen=True)
class Scored:
    """Binary truths and scores of one split, for every threshold that follows."""

    y_true: np.ndarray
    y_score: np.ndarray

    @classmethod
    def of(cls, y_true: npt.ArrayLike, y_score: npt.ArrayLike) -> Scored:
        return cls(np.asarray(y_true, dtype=np.int64), np.asarray(y_score, dtype=np.float64))

    def candidates(self) -> np.ndarray:
        """0.5 and every distinct score, ascending: each one a threshold (flag when score ≥ it)."""
        return np.unique(np.concatenate([self.y_score, [0.5]]))

    def flagged_counts(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
        """(positives flagged, negatives flagged) at each candidate, and the totals, under row ``weights``."""
        order = np.argsort(self.y_score, kind="stable")
        scores = self.y_score[order]
        positive = (self.y_true[order] == 1) * weights[order]
        negative = (self.y_true[order] != 1) * weights[order]
        below = np.searchsorted(scores, self.candidates(), side="left")
        cum_pos = np.concatenate([[0], np.cumsum(positive)])
        cum_neg = np.concatenate([[0], np.cumsum(negative)])
        total_pos, total_neg = cum_pos[-1], cum_neg[-1]
        return total_pos - cum_pos[below], total_neg - cum_neg[below], total_pos, total_neg


def confusion_at(s: Scored, threshold: float, weights: np.ndarray | None = None) -> Confusion:
    flagged = s.y_score >= threshold
    positive = s.y_true == 1
    w = np.ones(len(s.y_true), dtype=np.int64) if weights is None else weights
    return Confusion(
        tp=int(w[flagged & positive].sum()),
        fp=int(w[flagged & ~positive].sum()),
        fn=int(w[~flagged & positive].sum()),
        tn=int(w[~flagged & ~positive].sum()),
    )


def closest_to_half(candidates: np.ndarray, best: np.ndarray) -> float:
    """Among the ``best`` candidates, the one nearest 0.5: the default everyone would otherwise use."""
    chosen = candidates[best]
    return float(chosen[np.argmin(np.abs(chosen - 0.5))])


def action_rate(counts: Confusion, v: OutcomeValues) -> Decimal:
    """The share of production cases flagged: p·TPR + (1−p)·FPR."""
    p = v.production_positive_rate if v.production_positive_rate is not None else counts.positive_rate
    return p * counts.tpr + (ONE - p) * counts.fpr


def best_threshold(val: Scored, v: OutcomeValues, max_action_rate: Decimal | None = None) -> float:
    """The threshold with the highest expected value on these (validation) rows, exactly.

    With ``max_action_rate`` (capacity ÷ volume), only thresholds that flag no more than that
    share of production cases compete; when none does, the one that flags fewest is taken.
    """
    ones = np.ones(len(val.y_true), dtype=np.int64)
    tp, fp, pos, neg = val.flagged_counts(ones)
    counts = [Confusion(int(t), int(f), int(pos - t), int(neg - f)) for t, f in zip(tp, fp, strict=True)]
    feasible = [True] * len(counts)
    if max_action_rate is not None:
        rates = [action_rate(c, v) for c in counts]
        feasible = [rate <= max_action_rate for rate in rates]
        if not any(feasible):
            fewest = min(rates)
            feasible = [rate == fewest for rate in rates]
    values = [expected_value(c, v) if ok else None for c, ok in zip(counts, feasible, strict=True)]
    top = max(value for value in values if value is not None)
    return closest_to_half(val.candidates(), np.array([value == top for value in values]))
