"""Opening an MLflow store: one client, a server that is down found in seconds, a new SQLite file made once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tracker.errors import TrackerError, UsageError

__all__ = ["open_client", "require_store"]


def open_client(tracking_uri: str, *, create: bool = True) -> MlflowClient:
    """The client of the store at ``tracking_uri``; a server that does not answer fails in seconds, not minutes.

    ``create=False`` is for readers (``runs``, ``report``, ``cost``, ``realized``, ``ui``): a local
    store that is not there is an error (exit 2), never an empty database left behind.
    """
    if not create:
        require_store(tracking_uri)
    if tracking_uri.startswith(("http://", "https://")):
        _check_server(tracking_uri)
    try:
        if tracking_uri.startswith("sqlite:///"):
            return _initialise_sqlite_once(tracking_uri)
        return MlflowClient(tracking_uri=tracking_uri)
    except MlflowException as exc:
        raise TrackerError(f"cannot open the MLflow store {tracking_uri}: {exc.message[:200]}") from exc


def _check_server(tracking_uri: str, timeout: float = 10) -> None:
    """Ask a tracking server's /health once, so a server that is down is one line within seconds."""
    import urllib.error
    import urllib.request

    url = tracking_uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered: an MLflow behind a proxy may not serve /health, but it is there
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise TrackerError(
            f"cannot reach the MLflow tracking server at {tracking_uri} ({reason}); start it, "
            "or check `tracking_uri` (MLFLOW_TRACKING_URI)"
        ) from exc


def _initialise_sqlite_once(tracking_uri: str) -> MlflowClient:
    """Create a new SQLite store's tables in one process at a time.

    MLflow migrates a new database on first use; two sweeps started together on a new
    file would both run the migration and one would fail. A file lock beside the
    database makes the second wait, then find the tables made.
    """
    import fcntl
    from pathlib import Path

    path = Path(tracking_uri.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a+") as handle, _quiet_migration():
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            client = MlflowClient(tracking_uri=tracking_uri)
            client.search_experiments(max_results=1)
            return client
        except MlflowException:
            raise
        except Exception as exc:  # SQLAlchemy's errors, when the file is not an MLflow database
            raise UsageError(
                f"{path} is not an MLflow SQLite database; point `tracking_uri` at another file (or move this one away)"
            ) from exc
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _quiet_migration() -> Iterator[None]:
    """MLflow announces creating and migrating a new store's tables at INFO, before the sweep's
    first line; the store is an implementation detail of the first run. The loggers' levels
    are put back afterwards: the caller's logging is theirs."""
    import logging

    loggers = [logging.getLogger(name) for name in ("mlflow.store.db.utils", "alembic.runtime.migration")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def require_store(tracking_uri: str) -> None:
    """A local store (a SQLite file, or a file store's folder) must exist for a command that only reads."""
    from pathlib import Path
    from urllib.parse import urlparse

    if tracking_uri.startswith("sqlite:///"):
        path = Path(tracking_uri.removeprefix("sqlite:///"))
        if str(path).startswith(":memory:") or not str(path):
            return
    elif tracking_uri.startswith("file:"):
        path = Path(urlparse(tracking_uri).path)
    elif "://" not in tracking_uri:
        path = Path(tracking_uri)
    else:
        return  # a server or a database: it answers for itself
    if not path.exists():
        raise UsageError(
            f"no MLflow store at {path}; run `tracker sweep` here first, or point --tracking-uri "
            "(or MLFLOW_TRACKING_URI) at your store"
        )
