"""When cached reads are invalidated: after a commit that changed currency or record rows.

The one place that calls `ResponseCache.invalidate()`. It watches the app's engine, so every
writer is covered the same way, whether it goes through the ORM session (the write endpoints) or
through Core connections (seeding, `flask seed`, `flask ingest`, the start-up seeder):

- `after_execute`: an INSERT, UPDATE or DELETE on a watched table that touched rows marks the
  connection; the bulk record writer (`utilities.bulk_store`, whose COPY bypasses SQLAlchemy)
  sets the same mark itself;
- `commit` (fired just before the database commits) turns the mark into "committed", `rollback`
  drops it;
- `checkin` (the connection returns to the pool, after the commit has completed) invalidates.

Invalidating only after the commit matters: a read that ran between an earlier invalidation and
the commit would store the old rows under the new data version.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql.dml import UpdateBase

from utilities.bulk_store import ROWS_CHANGED

WATCHED_TABLES = frozenset({"currency", "record"})
CHANGED = ROWS_CHANGED
COMMITTED = "rows_changed_committed"


def changes_data(statement: object, result: CursorResult) -> bool:
    """Whether `statement` wrote rows of a watched table. With RETURNING the driver's row count is
    not known yet (SQLite reports 0), so such a statement counts as a change, as does -1."""
    table = getattr(statement, "table", None)
    if not isinstance(statement, UpdateBase) or getattr(table, "name", None) not in WATCHED_TABLES:
        return False
    return result.returns_rows or result.rowcount != 0


def invalidate_after_commits(engine: Engine, invalidate: Callable[[], None]) -> None:
    """Call `invalidate` once per connection checkin that follows a commit which changed data."""

    @event.listens_for(engine, "after_execute")
    def mark(conn: Connection, statement: object, _multi, _params, _options, result: CursorResult) -> None:
        if changes_data(statement, result):
            conn.info[CHANGED] = True

    @event.listens_for(engine, "commit")
    def committing(conn: Connection) -> None:
        # A connection found dead has no info to read (touching it would raise); its commit fails.
        if not conn.invalidated and conn.info.pop(CHANGED, False):
            conn.info[COMMITTED] = True

    @event.listens_for(engine, "rollback")
    def rolled_back(conn: Connection) -> None:
        if not conn.invalidated:
            conn.info.pop(CHANGED, None)

    @event.listens_for(engine, "checkin")
    def committed(_dbapi_connection: object, record) -> None:
        record.info.pop(CHANGED, None)  # never committed: the pool rolls it back
        if record.info.pop(COMMITTED, False):
            invalidate()
