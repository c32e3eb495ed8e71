"""Progress of a sweep, as the CLI's progress bar and worker processes pass it on."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SweepEvent"]


@dataclass(frozen=True)
class SweepEvent:
    """Sent after each trial (``kind="trial"``) or to say something (``"info"``).

    Worker processes also send ``"stopped"`` (with the reason) and ``"error"`` to their
    supervisor.
    """

    kind: str
    message: str = ""
    number: int | None = None
    state: str | None = None
    value: float | None = None
    best_value: float | None = None
    finished: int = 0
    target: int = 0
    worker: int = 0
