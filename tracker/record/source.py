"""Where a run came from, as MLflow's UI shows it (Source, Created by): the config file, its
git commit, and the user."""

from __future__ import annotations

from pathlib import Path

from tracker.record import layout

__all__ = ["source_tags"]


def source_tags(source_file: str | None) -> dict[str, str]:
    """MLflow's source tags for a run made from ``source_file``: its path, the git commit when in
    a repository, and the user (the UI's Source and Created by). Without a file, the source is
    the embedded defaults."""
    tags = {layout.TAG_USER: _user(), layout.TAG_SOURCE_TYPE: "LOCAL"}
    if source_file is None:
        return {**tags, layout.TAG_SOURCE_NAME: "tracker (embedded defaults)"}
    path = Path(source_file).resolve()
    tags[layout.TAG_SOURCE_NAME] = str(path)
    commit = _git_commit(path.parent)
    if commit is not None:
        tags[layout.TAG_GIT_COMMIT] = commit
    return tags


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        return "unknown"


def _git_commit(folder: Path) -> str | None:
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and len(commit) == 40 else None
