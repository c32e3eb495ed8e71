"""What reports and cost attribution leave in the record: files, predictions, figures, version tags.

The champion's predictions under ``predictions/``, a report's files under ``reports/``
(``realized/`` for the realized report), headline figures as metrics, monthly figures as
metric steps, and what a model version is worth as tags on that version.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlflow.entities import Metric
from mlflow.exceptions import MlflowException

from tracker.record import layout
from tracker.record.writes import METRICS_PER_BATCH, finite_metrics, ms

if TYPE_CHECKING:
    import pandas as pd
    from mlflow.tracking import MlflowClient

__all__ = ["ArtifactStore"]


class ArtifactStore:
    """Files and figures logged on runs and model versions, behind one injected :class:`MlflowClient`."""

    def __init__(self, client: MlflowClient) -> None:
        self.client = client

    def log_predictions(self, run_id: str, predictions: Mapping[str, pd.DataFrame]) -> None:
        """``predictions/<part>.parquet`` for each part (``val``, ``test``)."""
        with tempfile.TemporaryDirectory() as folder:
            for part, frame in predictions.items():
                path = Path(folder) / f"{part}.parquet"
                frame.to_parquet(path, index=False)
                self.client.log_artifact(run_id, str(path), artifact_path=layout.ARTIFACT_PREDICTIONS)

    def load_predictions(self, run_id: str, part: str) -> pd.DataFrame | None:
        """The predictions a run logged for ``part``, or None when it logged none."""
        import pandas as pd

        with tempfile.TemporaryDirectory() as folder:
            try:
                path = self.client.download_artifacts(run_id, f"{layout.ARTIFACT_PREDICTIONS}/{part}.parquet", folder)
            except (MlflowException, OSError):
                return None
            return pd.read_parquet(path)

    def log_values(self, key: str, values: Mapping[str, float]) -> None:
        """One metric on many runs (``run_id -> value``)."""
        now = ms(time.time())
        for run_id, value in values.items():
            self.client.log_batch(run_id, metrics=[Metric(key, float(value), now, 0)])

    def log_set(self, run_id: str, files: Sequence[str], folder: str, pointer: str) -> str:
        """``files`` as one set: logged into ``<folder>/<generation>/``, then made current by the tag
        ``pointer``, set last. A run killed midway leaves the previous set current (and a folder no
        tag points to). Returns the set's artifact folder."""
        import secrets
        from datetime import UTC, datetime

        generation = f"{datetime.now(tz=UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        where = f"{folder}/{generation}"
        for path in files:
            self.client.log_artifact(run_id, path, artifact_path=where)
        self.client.set_tag(run_id, pointer, where)
        return where

    def current_set(self, run_id: str, folder: str, pointer: str) -> str:
        """The artifact folder of a run's current set: the one ``pointer`` names, else ``folder`` itself
        (where reports were logged before sets had generations)."""
        return self.client.get_run(run_id).data.tags.get(pointer, folder)

    def log_report(self, run_id: str, files: Sequence[str], metrics: Mapping[str, float]) -> str:
        """The report's files as one set under ``reports/``, then its headline figures as metrics on the
        sweep's run. Returns the set's folder."""
        where = self.log_set(run_id, files, layout.ARTIFACT_REPORTS, layout.TAG_REPORT_SET)
        now = ms(time.time())
        self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in finite_metrics(metrics).items()])
        return where

    def load_report_figures(self, run_id: str) -> str | None:
        """The text of the ``roi.json`` a report logged on the sweep's run, or None when none was."""
        with tempfile.TemporaryDirectory() as folder:
            try:
                current = self.current_set(run_id, layout.ARTIFACT_REPORTS, layout.TAG_REPORT_SET)
                path = self.client.download_artifacts(run_id, f"{current}/{layout.REPORT_FILE}", folder)
            except (MlflowException, OSError):
                return None
            return Path(path).read_text(encoding="utf-8")

    def value_the_model(
        self, run_id: str, files: Sequence[str], tags: Mapping[str, str], *, folder: str = layout.ARTIFACT_REPORTS
    ) -> list[str]:
        """Attach the report to the run of ``run_id``'s registered model, as one set, and then tag every
        version of it with its value.

        The Model Registry then shows what a version is worth beside it, and the version's
        run holds the report under ``reports/``. Returns "name/version" of each version tagged.
        """
        versions = self.client.search_model_versions(f"run_id = '{run_id}'")
        if versions and files:
            pointer = layout.TAG_REPORT_SET if folder == layout.ARTIFACT_REPORTS else layout.TAG_REALIZED_SET
            self.log_set(run_id, files, folder, pointer)
        tagged = []
        for version in versions:
            for key, value in tags.items():
                self.client.set_model_version_tag(version.name, version.version, key, value)
            tagged.append(f"{version.name}/{version.version}")
        return tagged

    def log_monthly(self, run_id: str, series: Mapping[str, Sequence[tuple[int, float]]], files: Sequence[str]) -> None:
        """Monthly figures as metric steps ``monthly_<figure>`` (step = month index) on a child run of the
        sweep's run ``run_id``, named ``realized``; the files on the sweep's run, under ``realized/``.

        MLflow keeps every value ever logged at a step, so a rerun does not log onto the last run's
        steps: it logs a new ``realized`` run and then deletes the one before (a rerun after a crash
        between the two deletes both earlier ones). The live record holds one value a month.
        """
        from mlflow.entities import ViewType

        parent = self.client.get_run(run_id)
        experiment_id = parent.info.experiment_id
        earlier = self.client.search_runs(
            [experiment_id],
            filter_string=(
                f"tags.`{layout.TAG_PARENT}` = '{run_id}' and tags.`{layout.TAG_ROLE}` = '{layout.ROLE_REALIZED}'"
            ),
            run_view_type=ViewType.ACTIVE_ONLY,
        )
        tags = {layout.TAG_PARENT: run_id, layout.TAG_ROLE: layout.ROLE_REALIZED}
        run = self.client.create_run(experiment_id, run_name=layout.REALIZED_RUN_NAME, tags=tags)
        now = ms(time.time())
        metrics = [
            Metric(layout.MONTHLY_PREFIX + figure, value, now, step)
            for figure, points in series.items()
            for step, value in points
        ]
        try:
            for start in range(0, len(metrics), METRICS_PER_BATCH):
                chunk = metrics[start : start + METRICS_PER_BATCH]
                self.client.log_batch(run.info.run_id, metrics=[m for m in chunk if math.isfinite(m.value)])
        except BaseException:
            self.client.set_terminated(run.info.run_id, "FAILED")
            raise
        self.client.set_terminated(run.info.run_id, "FINISHED")
        for old in earlier:
            self.client.delete_run(old.info.run_id)
        if files:
            self.log_set(run_id, files, layout.ARTIFACT_REALIZED, layout.TAG_REALIZED_SET)
