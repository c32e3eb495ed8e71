"""Optuna storages by URL or file, and the lock that makes "check the count, then ask" atomic.

A storage is a database URL (``sqlite:///optuna.db``, ``postgresql+psycopg://...``), a
``grpc://host:port`` proxy, or a file path: an Optuna journal file (``optuna.journal``, the
default), the way ``optuna-dashboard`` reads a path too (settings turn a path to an SQLite
file into its ``sqlite:///`` URL). A journal appends one line per
change and fsyncs it, so it is as durable as SQLite with a fraction of its per-trial work,
and several processes on one machine share it through a lock file.

Workers of one sweep, on one machine or many, share a storage. Deciding whether one
more trial is needed and creating it must happen as one step, or two workers that both
see one trial missing would both start one and the study would overshoot. The lock is
an advisory lock on PostgreSQL, a file lock beside an SQLite or journal file, and nothing elsewhere
(gRPC proxy, MySQL): there the total may overshoot by up to one trial per extra worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy.engine import make_url
from sqlalchemy.exc import NoSuchModuleError

from tracker.config import journal_path
from tracker.errors import ConfigError, TrackerError, UsageError, first_line

__all__ = ["GRACE_SECONDS", "HEARTBEAT_SECONDS", "beats", "open_storage", "storage_lock"]

# A worker records a heartbeat this often; a trial silent for GRACE_SECONDS is failed.
HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 20


def beats(storage: optuna.storages.BaseStorage) -> bool:
    """Whether running trials record heartbeats in ``storage``."""
    return isinstance(storage, optuna.storages.RDBStorage) and storage.heartbeat_interval is not None


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def open_storage(
    url: str, *, create: bool = True, heartbeat: bool = True, retry_failed: bool = False
) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``: a journal file's path, any SQLAlchemy URL, or ``grpc://host:port``.

    ``create=False`` is for readers: a journal file that is not there is an error, not an
    empty file left behind. A database storage records trial heartbeats unless ``heartbeat``
    is false (Optuna's journal and gRPC storages have none); ``retry_failed`` runs a trial
    failed by its silent heartbeat once more, with the same parameters.
    """
    path = journal_path(url)
    if path is not None:
        if not create and not path.is_file():
            raise UsageError(f"storage: no Optuna journal file at {path}")
        return _open_journal(path)
    if url.startswith("grpc://"):
        host, _, port = url.removeprefix("grpc://").rstrip("/").partition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"storage: {url!r} must look like grpc://host:port")
        return optuna.storages.GrpcStorageProxy(host=host, port=int(port))
    try:
        make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError, ValueError, ...
        raise ConfigError(
            f"storage: {url!r} is not a database URL; use a journal file's path (optuna.journal), "
            "sqlite:///optuna.db, postgresql+psycopg://user@host/db or grpc://host:port"
        ) from exc
    return _open_database(url, heartbeat=heartbeat, retry_failed=retry_failed)


def _open_database(url: str, *, heartbeat: bool, retry_failed: bool) -> optuna.storages.BaseStorage:
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:"):
        # Several local workers share the file: wait for a lock rather than fail.
        engine_kwargs["connect_args"] = {"timeout": 60}
    else:
        engine_kwargs["pool_pre_ping"] = True
    try:
        with warnings.catch_warnings():
            # Heartbeats have been "experimental" since Optuna 2.9; the warning says nothing to act on.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs=engine_kwargs,
                heartbeat_interval=HEARTBEAT_SECONDS if heartbeat else None,
                grace_period=GRACE_SECONDS if heartbeat else None,
                heartbeat_stale_trial_callback=(
                    optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)
                    if heartbeat and retry_failed
                    else None
                ),
            )
    except NoSuchModuleError as exc:
        raise ConfigError(
            f"storage: unknown database kind {url.split(':', 1)[0]!r}; use a journal file's path, "
            "sqlite:///FILE or postgresql+psycopg://user@host/db"
        ) from exc
    except ImportError as exc:
        scheme = url.split(":", 1)[0]
        hint = "; pip install 'psycopg[binary]' for PostgreSQL" if scheme.startswith("postgres") else ""
        raise ConfigError(
            f"storage: the driver for {scheme} is not installed ({exc.name or first_line(exc, 120)}){hint}"
        ) from exc
    except Exception as exc:
        if sqlite_path(url) is not None and "not a database" in str(exc):
            raise UsageError(
                f"storage: {sqlite_path(url)} is not an Optuna SQLite database; point `storage` at another file"
            ) from exc
        raise TrackerError(f"cannot open the Optuna storage {_redact(url)}: {first_line(exc, 200)}") from exc


def _open_journal(path: Path) -> optuna.storages.BaseStorage:
    from optuna.storages.journal import JournalFileBackend

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
    except (ValueError, KeyError, TypeError) as exc:  # a line that is not Optuna's JSON
        raise UsageError(
            f"storage: {path} is not an Optuna journal file ({first_line(exc, 120)}); point `storage` at another file"
        ) from exc
    except OSError as exc:
        raise UsageError(f"storage: cannot open the journal file {path}: {exc.strerror or exc}") from exc


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def storage_locks(url: str) -> bool:
    """Whether :func:`storage_lock` really locks for this storage."""
    return _lock_file(url) is not None or url.startswith("postgresql")


def _lock_file(url: str) -> Path | None:
    """The file whose lock is the sweep's, beside a local storage file."""
    if (path := sqlite_path(url)) is not None:
        return path.with_name(path.name + ".lock")
    if (path := journal_path(url)) is not None:
        # Not "<journal>.lock": Optuna's own lock for each append is that file.
        return path.with_name(path.name + ".sweep-lock")
    return None


@contextlib.contextmanager
def storage_lock(url: str, study: str) -> Iterator[None]:
    """Hold the sweep-wide lock for ``study`` on the storage at ``url``."""
    lock_path = _lock_file(url)
    if lock_path is not None:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if url.startswith("postgresql"):
        with _pg_advisory_lock(url, study):
            yield
        return
    yield


_ENGINES: dict[str, Any] = {}


@contextlib.contextmanager
def _pg_advisory_lock(url: str, study: str) -> Iterator[None]:
    import sqlalchemy

    engine = _ENGINES.get(url)
    if engine is None:
        engine = _ENGINES[url] = sqlalchemy.create_engine(url, pool_size=1, pool_pre_ping=True)
    key = int.from_bytes(hashlib.blake2b(f"tracker:{study}".encode(), digest_size=8).digest(), "big", signed=True)
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()
