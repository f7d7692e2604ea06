"""One runner at a time across hosts: PostgreSQL session-level advisory locks (no Flask)."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

# Fixed 64-bit keys, one per job; any value works as long as no other job of this database uses it.
DAILY_INGEST_LOCK = 0x63727970746F01  # "crypto" + 1
SEED_LOCK = 7_380_412_266_031_159_841


@contextmanager
def held_lock(connection: sa.Connection, key: int, *, wait: bool) -> Iterator[bool]:
    """Take the lock on `connection` (waiting for it, or trying once) and release it at the end.

    The lock is taken and released in their own transactions, so the connection stays idle while
    the job runs; PostgreSQL releases it if the process dies. Yields whether the lock is held."""
    function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
    result = connection.execute(sa.text(f"SELECT {function}(:key)"), {"key": key}).scalar()
    held = wait or bool(result)
    connection.commit()
    try:
        yield held
    finally:
        if held:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


@contextmanager
def file_lock(engine: sa.Engine, key: int) -> Iterator[bool]:
    """Try an exclusive flock on `<database file>.<key>.lock`; True for an in-memory database."""

    path = engine.url.database
    if not path or path == ":memory:" or engine.url.query.get("mode") == "memory":
        yield True
        return
    with open(f"{path}.{key:x}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def exclusive_run(engine: sa.Engine, key: int) -> Iterator[bool]:
    """Yield True when this process may run (it holds the lock), False when another one holds it.

    The lock belongs to a dedicated connection. A SQLite file has no other host to race with, but
    several processes of this host can (the server's own update, a cron job, `make run` twice):
    an exclusive file lock beside the database file (released when the process ends)."""
    if engine.dialect.name != "postgresql":
        with file_lock(engine, key) as held:
            yield held
        return
    with engine.connect() as connection, held_lock(connection, key, wait=False) as held:
        yield held
