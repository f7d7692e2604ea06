"""One runner at a time across hosts: PostgreSQL session-level advisory locks (no Flask)."""

from __future__ import annotations

import fcntl
import os
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
def exclusive_run(engine: sa.Engine, key: int) -> Iterator[bool]:
    """Yield True when this process may run (it holds the lock), False when another one holds it.

    The lock belongs to a dedicated connection. SQLite has no other host to race with, but the
    embedded default runs several worker processes: a file lock beside the database file (none
    for an in-memory database, which one process alone can see)."""
    if engine.dialect.name != "postgresql":
        database = engine.url.database
        if not database or database == ":memory:":
            yield True
            return
        descriptor = os.open(f"{database}.lock-{key:x}", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)  # closing releases the lock
        return
    with engine.connect() as connection, held_lock(connection, key, wait=False) as held:
        yield held
