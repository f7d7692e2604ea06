"""Read replica routing: the cached read endpoints compute their answers on a PostgreSQL replica.

With `DATABASE_REPLICA_URL` set, `ReadRouter.read(compute)` (called by the response cache for
every miss, after it has read the data version) runs `compute` with `db.session` bound to the
replica, but only if the replica has replayed all WAL the primary had flushed when the read began
(`pg_last_wal_replay_lsn()` on the replica >= `pg_current_wal_flush_lsn()` on the primary). A write
commits (and so flushes) before it bumps the data version and before it answers, so an answer
computed on the replica is never older than any write acknowledged before the read began: it is as
fresh as one from the primary, and safe to cache under the version read before it. A lagging or
paused replica sends reads to the primary; a replica that fails (down, connection lost, a query
cancelled by a recovery conflict) sends this read and the next `DATABASE_REPLICA_COOLDOWN` seconds of
reads to the primary. Writes, seeding, migrations and every other query always use the primary.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app
from flask_sqlalchemy.session import Session
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InterfaceError, OperationalError

from config import engine_options

log = logging.getLogger(__name__)

# `Session.info` key holding the replica engine while a read is being computed on it.
REPLICA_BIND = "read_replica_engine"
PRIMARY_POSITION = sa.text("SELECT pg_current_wal_flush_lsn()")
# False on a primary (a replica promoted meanwhile is no longer fed by this primary).
CAUGHT_UP = sa.text(
    "SELECT pg_is_in_recovery() AND coalesce(pg_last_wal_replay_lsn() >= CAST(:position AS pg_lsn), false)"
)


class RoutingSession(Session):
    """Flask-SQLAlchemy's session, bound to the replica engine while `info[REPLICA_BIND]` holds it."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        replica = self.info.get(REPLICA_BIND)
        if replica is not None and bind is None:
            return replica
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


class ReadRouter:
    """One app's replica engine, its circuit breaker and counts of where reads went."""

    def __init__(self, app: Flask) -> None:
        self.engine: Engine | None = None
        self.cooldown = app.config["DATABASE_REPLICA_COOLDOWN"]
        self.clock: Callable[[], float] = time.monotonic
        self.reads: Counter[str] = Counter()
        self._down_until = float("-inf")
        self._in_outage = False
        self._lock = threading.Lock()
        url = app.config.get("DATABASE_REPLICA_URL")
        if not url:
            return
        if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "postgresql":
            log.warning("DATABASE_REPLICA_URL is ignored: the primary database is not PostgreSQL")
            return
        # The primary's connection settings (timeouts, keepalives), with a connect timeout of its
        # own for a replica that hangs. No pre-ping: the freshness check is the first statement of
        # every use, and any failure already falls back to the primary.
        options = engine_options(url)
        options.pop("pool_pre_ping", None)
        connect_timeout = app.config["DATABASE_REPLICA_CONNECT_TIMEOUT"]
        options["connect_args"] = {**options.get("connect_args", {}), "connect_timeout": connect_timeout}
        self.engine = sa.create_engine(url, **options)

    def _count(self, where: str) -> None:
        with self._lock:
            self.reads[where] += 1

    def _failed(self, error: OperationalError | InterfaceError) -> None:
        with self._lock:
            self._down_until = self.clock() + self.cooldown
            first, self._in_outage = not self._in_outage, True
        if first:
            log.warning("Read replica failed; reading from the primary, retry in %s s: %s", self.cooldown, error.orig)

    def _recovered(self) -> None:
        with self._lock:
            recovered, self._in_outage = self._in_outage, False
        if recovered:
            log.warning("Read replica answering again; reads go to it while it is caught up")

    def read(self, compute: Callable[[], Response]) -> Response:
        """`compute()` on the replica when it is up and caught up with the primary, else on the primary."""
        if self.engine is None:
            return compute()
        if self.clock() < self._down_until:
            self._count("primary (replica cooling down)")
            return compute()
        db = current_app.extensions["sqlalchemy"]
        with db.engine.connect() as primary:
            position = primary.execute(PRIMARY_POSITION).scalar_one()
        session = db.session
        session.info[REPLICA_BIND] = self.engine
        try:
            # The check opens the session's replica transaction; the computation runs in it.
            caught_up = session.execute(CAUGHT_UP, {"position": position}).scalar_one()
            self._recovered()
            response = compute() if caught_up else None
        except (OperationalError, InterfaceError) as error:
            session.info.pop(REPLICA_BIND, None)
            session.rollback()  # the failed replica transaction; the primary one starts afresh
            self._failed(error)
            self._count("primary (replica failed)")
            return compute()
        finally:
            session.info.pop(REPLICA_BIND, None)
        if response is None:
            # Behind: the primary answers (the idle replica transaction ends with the request).
            self._count("primary (replica behind)")
            return compute()
        self._count("replica")
        return response

    def state(self) -> dict[str, Any]:
        """For logs and tests: configured or not, and where reads went so far in this process."""
        with self._lock:
            return {"configured": self.engine is not None, "reads": dict(self.reads)}

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


def init_read_router(app: Flask) -> None:
    """Attach the app's router (no I/O: the engine connects on the first read)."""
    app.extensions["read_router"] = ReadRouter(app)


def compute_read(compute: Callable[[], Response]) -> Response:
    """The uncached answer of a read endpoint, through the current app's router when it has one."""
    router: ReadRouter | None = current_app.extensions.get("read_router")
    return compute() if router is None else router.read(compute)
