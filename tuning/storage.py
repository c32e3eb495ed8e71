"""Optuna storages by URL, and the lock that makes "check the count, then ask" atomic.

Workers of one sweep, on one machine or many, share a storage. Deciding whether one
more trial is needed and creating it must happen as one step, or two workers that both
see one trial missing would both start one and the study would overshoot. The lock is
an advisory lock on PostgreSQL, a file lock beside an SQLite file, and nothing elsewhere
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

from tracker.errors import ConfigError, TrackerError, UsageError, first_line

__all__ = ["HEARTBEAT_SECONDS", "open_storage", "storage_lock"]

# A worker records a heartbeat this often; a trial silent for GRACE_SECONDS is failed.
HEARTBEAT_SECONDS = 5
GRACE_SECONDS = 20


def sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def open_storage(url: str) -> optuna.storages.BaseStorage:
    """An Optuna storage for ``url``: any SQLAlchemy URL, or ``grpc://host:port``."""
    if url.startswith("grpc://"):
        host, _, port = url.removeprefix("grpc://").rstrip("/").partition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"storage: {url!r} must look like grpc://host:port")
        return optuna.storages.GrpcStorageProxy(host=host, port=int(port))
    try:
        make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError, ValueError, ...
        raise ConfigError(
            f"storage: {url!r} is not a database URL; use sqlite:///optuna.db, "
            "postgresql+psycopg://user@host/db or grpc://host:port"
        ) from exc
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
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
            )
    except ImportError as exc:
        raise ConfigError(
            f"storage: the driver for {url.split(':', 1)[0]} is not installed ({exc.name}); "
            "pip install 'psycopg[binary]' for PostgreSQL"
        ) from exc
    except Exception as exc:
        if sqlite_path(url) is not None and "not a database" in str(exc):
            raise UsageError(
                f"storage: {sqlite_path(url)} is not an Optuna SQLite database; point --storage at another file"
            ) from exc
        raise TrackerError(f"cannot open the Optuna storage {_redact(url)}: {first_line(exc, 200)}") from exc


def _redact(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def storage_locks(url: str) -> bool:
    """Whether :func:`storage_lock` really locks for this storage."""
    return sqlite_path(url) is not None or url.startswith("postgresql")


@contextlib.contextmanager
def storage_lock(url: str, study: str) -> Iterator[None]:
    """Hold the sweep-wide lock for ``study`` on the storage at ``url``."""
    path = sqlite_path(url)
    if path is not None:
        lock_path = path.with_name(path.name + ".lock")
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
