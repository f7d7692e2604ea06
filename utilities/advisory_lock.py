"""One runner at a time across hosts: a PostgreSQL session-level advisory lock (no Flask)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

# Fixed 64-bit keys, one per job; any value works as long as no other job of this database uses it.
DAILY_INGEST_LOCK = 0x63727970746F01  # "crypto" + 1


@contextmanager
def exclusive_run(engine: sa.Engine, key: int) -> Iterator[bool]:
    """Yield True when this process may run (it holds the lock), False when another one holds it.

    The lock belongs to a dedicated connection that stays idle (no open transaction) while the job
    runs; PostgreSQL releases it if the process dies. SQLite has no other host to race with: True."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        held = bool(connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
