"""Money in: what a project spent, from Cost Explorer, a billing export, or an estimate."""

from __future__ import annotations

__all__: list[str] = []
