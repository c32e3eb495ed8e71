"""The sign-off page's facts: who ran the report on what, so a reviewer can reproduce it and sign.

The config file and the dataset are hashed (SHA-256) as they are on disk when the report
runs; the git commit is that of the repository holding the config, when there is one.
"""

from __future__ import annotations

import getpass
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from reports import figures as f
from tracker.record.layout import TAG_GIT_COMMIT
from tracker.record.source import source_tags

if TYPE_CHECKING:
    from reports.gather import Evidence
    from tracker.config import Settings

__all__ = ["sign_off"]


def sign_off(settings: Settings, evidence: Evidence, config_file: Path | None) -> f.SignOff:
    """The facts of the sign-off page, read now from the config file, the dataset and the runs."""
    config_sha = git = None
    if config_file is not None and config_file.is_file():
        config_sha = _sha256(config_file)
        git = source_tags(str(config_file)).get(TAG_GIT_COMMIT)
    data_file, data_sha, rows = _dataset(settings)
    w = evidence.window
    runs = [evidence.parent.run_id] if evidence.parent is not None else []
    runs.append(evidence.best.run_id)
    return f.SignOff(
        prepared_by=settings.roi.prepared_by or _os_user(),
        config_file=config_file.name if config_file is not None else None,
        config_sha256=config_sha,
        git_commit=git,
        data_file=data_file,
        data_sha256=data_sha,
        data_rows=rows,
        billing_source=evidence.spend.source,
        billing_window=f"{w.start or 'from the start'} to {w.end or 'today'} ({w.chosen_by})",
        run_ids=tuple(runs),
    )


def _dataset(settings: Settings) -> tuple[str | None, str | None, int | None]:
    """(file name, SHA-256, rows) of a file dataset; the built-in name alone for a built-in one."""
    objective = settings.objective
    if objective.function is not None:
        return None, None, None
    path = Path(objective.dataset)
    if not path.is_file():
        return objective.dataset, None, None
    from tuning.datasets import read_table

    try:
        rows = len(read_table(path, objective.read))
    except Exception:  # the sign-off states what it can; the sweep already read this file
        rows = None
    return path.name, _sha256(path), rows


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
