"""Counters and moving windows shared by this host's processes, in one SQLite file (no Flask).

Why: without `REDIS_URL` gunicorn runs as many worker processes as with it (gunicorn.conf.py), and
the rate limits and the failed-login throttle must stay exact across them (docs/performance.md
measures the options: this file, an embedded Redis, per-process shares of the budget).

How it stays exact and cheap:
- every change is one SQLite write transaction, taken after an `flock` on a sidecar lock file, so
  writers queue in the kernel (woken the moment the holder lets go) and SQLite never has to poll
  for its own lock (its busy handler sleeps 1 ms and more);
- each thread of each process has its own connection and lock descriptor (flock locks belong to
  an open file description: one per thread makes threads of one process exclude each other too);
- WAL, `synchronous=OFF`: the state is ephemeral (an operating-system crash may lose the last
  counts; a killed process loses nothing, its transactions are in the WAL), so no fsync per hit;
- nothing is opened until the first call: building the app does no I/O.

Times are wall-clock seconds (`time.time()`), the same clock in every process.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SWEEP_INTERVAL = 1.0  # seconds between sweeps of expired rows (by the expiry index: only those)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counter ("
    " key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL) WITHOUT ROWID",
    # A key's entries are numbered in the order they were taken (`seq`), so the n-th newest is one
    # primary-key probe, whatever the window holds (an ORDER BY ... OFFSET n walks n index entries).
    "CREATE TABLE IF NOT EXISTS window_entry (key TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL,"
    " expires_at REAL NOT NULL, PRIMARY KEY (key, seq)) WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS ix_window_entry_expires_at ON window_entry (expires_at)",
)


class SharedState:
    """One SQLite file of counters and window entries; safe across threads and processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._next_sweep = 0.0

    def _handles(self) -> tuple[sqlite3.Connection, int]:
        """This thread's connection and lock descriptor (new after a fork: never shared)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            connection = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                for statement in SCHEMA:
                    connection.execute(statement)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
            local.connection, local.lock, local.pid = connection, lock, os.getpid()
        return local.connection, local.lock

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised across threads and processes by the lock file."""
        connection, lock = self._handles()
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)

    def _maybe_sweep(self, connection: sqlite3.Connection, now: float) -> None:
        """Drop expired rows, at most once a second per process (inside a write, a range of an index)."""
        if now >= self._next_sweep:
            self._next_sweep = now + SWEEP_INTERVAL
            connection.execute("DELETE FROM counter WHERE expires_at <= ?", (now,))
            connection.execute("DELETE FROM window_entry WHERE expires_at <= ?", (now,))

    # Counters: a value that lives until `expires_at` ------------------------------------------

    def increment(self, key: str, expiry: float, amount: int = 1, refresh: bool = False) -> int:
        """Add `amount` (a fresh count if expired); the expiry starts with the count, or on every
        increment with `refresh` (the failed-login throttle forgets only after a quiet spell)."""
        now = time.time()
        with self._writing() as connection:
            self._maybe_sweep(connection, now)
            row = connection.execute(
                "SELECT value, expires_at FROM counter WHERE key = ? AND expires_at > ?", (key, now)
            ).fetchone()
            value = row[0] + amount if row else amount
            expires_at = now + expiry if refresh or not row else row[1]
            connection.execute(
                "INSERT OR REPLACE INTO counter (key, value, expires_at) VALUES (?, ?, ?)", (key, value, expires_at)
            )
            return value

    def decrement(self, key: str, amount: int = 1) -> int:
        """Subtract `amount`, never below 0; an expired or absent counter stays 0."""
        now = time.time()
        with self._writing() as connection:
            connection.execute(
                "UPDATE counter SET value = max(value - ?, 0) WHERE key = ? AND expires_at > ?", (amount, key, now)
            )
            return self.value(key)

    def put(self, key: str, value: int, seconds: float) -> None:
        """Set a counter outright, living `seconds` from now."""
        now = time.time()
        with self._writing() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO counter (key, value, expires_at) VALUES (?, ?, ?)",
                (key, value, now + seconds),
            )

    def value(self, key: str) -> int:
        """The live value (0 when absent or expired)."""
        row = self._read("SELECT value FROM counter WHERE key = ? AND expires_at > ?", key)
        return int(row[0]) if row else 0

    def expires_at(self, key: str) -> float | None:
        """When the live counter expires (wall-clock seconds), None when absent or expired."""
        row = self._read("SELECT expires_at FROM counter WHERE key = ? AND expires_at > ?", key)
        return float(row[0]) if row else None

    def _read(self, sql: str, key: str) -> tuple | None:
        connection, _ = self._handles()
        return connection.execute(sql, (key, time.time())).fetchone()

    def delete(self, key: str) -> None:
        """Forget a counter and its window entries."""
        with self._writing() as connection:
            connection.execute("DELETE FROM counter WHERE key = ?", (key,))
            connection.execute("DELETE FROM window_entry WHERE key = ?", (key,))

    def delete_all(self) -> int:
        """Forget everything; returns how many keys there were."""
        with self._writing() as connection:
            count = connection.execute(
                "SELECT count(*) FROM (SELECT key FROM counter UNION SELECT key FROM window_entry)"
            ).fetchone()[0]
            connection.execute("DELETE FROM counter")
            connection.execute("DELETE FROM window_entry")
            return int(count)

    # Moving windows: at most `limit` entries in any `expiry` seconds --------------------------

    def acquire(self, key: str, limit: int, expiry: float, amount: int = 1) -> bool:
        """Take `amount` entries if the window has room (the semantics of `limits`' memory storage)."""
        if amount > limit:
            return False
        now = time.time()
        with self._writing() as connection:
            self._maybe_sweep(connection, now)
            newest = connection.execute(
                "SELECT seq FROM window_entry WHERE key = ? ORDER BY seq DESC LIMIT 1", (key,)
            ).fetchone()
            last = newest[0] if newest else 0
            # The entry `limit - amount` places back from the newest: inside the window means full.
            full = connection.execute(
                "SELECT 1 FROM window_entry WHERE key = ? AND seq = ? AND at > ?",
                (key, last - (limit - amount), now - expiry),
            ).fetchone()
            if full:
                return False
            connection.executemany(
                "INSERT INTO window_entry (key, seq, at, expires_at) VALUES (?, ?, ?, ?)",
                [(key, last + number, now, now + expiry) for number in range(1, amount + 1)],
            )
            return True

    def window(self, key: str, expiry: float) -> tuple[float, int]:
        """(start of the window: its oldest live entry, or now; entries in it)."""
        now = time.time()
        connection, _ = self._handles()
        # Entries are numbered in time order and expired ones swept each second: the first live
        # one is at most a second's entries from the start of the key's range.
        oldest = connection.execute(
            "SELECT seq, at FROM window_entry WHERE key = ? AND at > ? ORDER BY seq LIMIT 1", (key, now - expiry)
        ).fetchone()
        if oldest is None:
            return now, 0
        newest = connection.execute(
            "SELECT seq FROM window_entry WHERE key = ? ORDER BY seq DESC LIMIT 1", (key,)
        ).fetchone()
        return float(oldest[1]), int(newest[0] - oldest[0] + 1)

    def check(self) -> bool:
        """True when the file answers a query."""
        connection, _ = self._handles()
        return connection.execute("SELECT 1").fetchone() == (1,)
