"""The MLflow record, split by who uses it.

- :mod:`tracker.record.layout`: every name this project writes (tags, metrics, artifacts,
  Optuna attributes), and nothing else.
- :mod:`tracker.record.writes`: the sweep's parent and trial runs (:class:`SweepRecord`).
- :mod:`tracker.record.artifacts`: reports, predictions, figures and model-version tags.
- :mod:`tracker.record.reads`: queries for ``tracker runs``, reports and cost estimates.
- :mod:`tracker.record.writer`: the writer process that writes trial runs beside the sweep.

:class:`Record` opens one MLflow client and hands each kind of caller its part. The
modules are loaded on first use, so importing a name from here costs no MLflow import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from tracker.record.artifacts import ArtifactStore
    from tracker.record.reads import RunReader
    from tracker.record.writes import SweepRecord

__all__ = ["Record"]


@dataclass(frozen=True)
class Record:
    """One MLflow store, seen by each kind of caller: ``reads``, ``writes`` and ``artifacts``."""

    reads: RunReader
    writes: SweepRecord
    artifacts: ArtifactStore

    @classmethod
    def open(cls, tracking_uri: str, *, create: bool = True) -> Record:
        """The record at ``tracking_uri``; a server that does not answer fails in seconds. With
        ``create=False`` (a reader), a local store that is not there is an error, not made empty."""
        from tracker.record._client import open_client

        return cls.of(open_client(tracking_uri, create=create))

    @classmethod
    def of(cls, client: MlflowClient) -> Record:
        """The record behind an MLflow client the caller already has."""
        from tracker.record.artifacts import ArtifactStore
        from tracker.record.reads import RunReader
        from tracker.record.writes import SweepRecord

        return cls(RunReader(client), SweepRecord(client), ArtifactStore(client))

    @property
    def tracking_uri(self) -> str:
        """The store's URI, as the client was opened with it."""
        return self.reads.tracking_uri
