"""A client-side deadline for every PostgreSQL round trip of the web process.

`statement_timeout` is enforced by the server and TCP keepalives are answered by its kernel, so
neither ends a wait on a server that is reachable but not working (SIGSTOP, a hung volume, a
half-dead failover): psycopg2 blocks in `recv()` until it resumes. Connections made with
`WatchedConnection` register each statement, commit and rollback (and SQLAlchemy's pre-ping,
which is a statement) with one watchdog thread per process; a round trip still running after
its deadline gets its socket shut down, which makes psycopg2 raise OperationalError at once
("server closed the connection unexpectedly"): SQLAlchemy discards that connection and the
request answers the JSON 500 of an unreachable database. The deadline is `statement_timeout`
plus a grace, so a server that is merely slow is stopped by its own timeout first and the
connection survives. COPY (seeding, ingestion; `flask` commands only) is not watched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator

import psycopg2.extensions

log = logging.getLogger(__name__)
RESOLUTION_S = 0.25


class Watchdog:
    """Round trips in flight and their deadlines; a daemon thread shuts down overdue sockets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[object, tuple[float, int]] = {}
        self._thread: threading.Thread | None = None
        self._pid = 0

    @contextlib.contextmanager
    def guard(self, connection: psycopg2.extensions.connection, limit_s: float) -> Iterator[None]:
        token = object()
        with self._lock:
            self._active[token] = (time.monotonic() + limit_s, connection.fileno())
            self._ensure_thread()
        try:
            yield
        finally:
            with self._lock:
                self._active.pop(token, None)

    def _ensure_thread(self) -> None:
        # A forked child (a gunicorn worker) has no copy of its parent's thread: start its own.
        if self._thread is None or self._pid != os.getpid():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._watch, name="db-watchdog", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            time.sleep(RESOLUTION_S)
            now = time.monotonic()
            with self._lock:  # held while shutting down: a round trip that ended is never touched
                overdue = [(token, fd) for token, (deadline, fd) in self._active.items() if deadline <= now]
                for token, fd in overdue:
                    del self._active[token]
                    _shut_down(fd)


def _shut_down(fd: int) -> None:
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
        log.error("PostgreSQL did not answer within the client deadline: connection shut down")
    except OSError:
        pass
    finally:
        sock.close()


WATCHDOG = Watchdog()


class WatchedCursor(psycopg2.extensions.cursor):
    """A cursor whose statements run under the watchdog."""

    def execute(self, query, vars=None):
        with WATCHDOG.guard(self.connection, self.connection.deadline_s):
            return super().execute(query, vars)

    def executemany(self, query, vars_list):
        with WATCHDOG.guard(self.connection, self.connection.deadline_s):
            return super().executemany(query, vars_list)


class WatchedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection whose round trips have a client-side deadline (`deadline_s`)."""

    deadline_s = 7.0

    def cursor(self, *args, **kwargs):
        kwargs.setdefault("cursor_factory", WatchedCursor)
        return super().cursor(*args, **kwargs)

    def commit(self) -> None:
        with WATCHDOG.guard(self, self.deadline_s):
            super().commit()

    def rollback(self) -> None:
        with WATCHDOG.guard(self, self.deadline_s):
            super().rollback()


def watched_connection_class(deadline_s: float) -> type[WatchedConnection]:
    """A WatchedConnection subclass with this deadline (psycopg2 takes a class, not an instance)."""
    return type("WatchedConnection", (WatchedConnection,), {"deadline_s": deadline_s})
