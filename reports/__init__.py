"""Money and quality out: the ROI model and the PDF, HTML and JSON reports."""

from __future__ import annotations

__all__: list[str] = []
