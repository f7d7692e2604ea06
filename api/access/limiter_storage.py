"""Rate-limit storages of the embedded default: one shared by this host's processes, one in memory.

`shared-file:///path` (`SharedFileStorage`): the counts live in a SQLite file that every worker
process of this host reads and writes (`api.access.shared_state`), so the budget is exact across
processes; this is what the app uses without `REDIS_URL` (docs/performance.md: why).

`inline-memory://` (`InlineExpiryMemoryStorage`): one process's memory, for tests and benches
that build several apps in one process, and Flask-Limiter's fallback when the file fails.

`limits`' `memory://` storage schedules a `threading.Timer` (10 ms) on every hit whenever the
previous one has finished: under steady traffic about one request in each 10 ms starts a thread,
and `Thread.start()` waits until the new thread runs, which on a busy host costs milliseconds
(measured: mean hit 160-230 us against a median of 7-13 us, p99 4.5-7.5 ms). This storage
drops expired entries itself, at most once per `EXPIRY_INTERVAL` seconds, inside a hit.
Limits stay exact either way: a hit compares entry times, and expiry only frees memory.

Use them as `storage_uri="shared-file:///path"` or `"inline-memory://"` once this module is imported.
"""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import unquote, urlsplit

from limits.storage import MemoryStorage, MovingWindowSupport, Storage

from api.access.shared_state import SharedState

EXPIRY_INTERVAL = 1.0


class InlineExpiryMemoryStorage(MemoryStorage):
    """`memory://` without its timer thread (registered as `inline-memory://`)."""

    STORAGE_SCHEME = "inline-memory"

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the parent starts one at construction; nothing restarts it
        self._next_expiry = time.monotonic() + EXPIRY_INTERVAL

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self.timer.cancel()

    def _MemoryStorage__schedule_expiry(self) -> None:
        """Called by the parent on each hit: expire inline when the interval has passed."""
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + EXPIRY_INTERVAL
            self._MemoryStorage__expire_events()


class SharedFileStorage(Storage, MovingWindowSupport):
    """`limits` storage over `SharedState`: fixed counters and moving windows shared by processes."""

    STORAGE_SCHEME = "shared-file"

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options: str) -> None:
        self.state = SharedState(unquote(urlsplit(uri).path))
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return sqlite3.Error  # what Flask-Limiter swallows before it falls back to memory

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.state.increment(key, expiry, amount)

    def decr(self, key: str, amount: int = 1) -> int:
        return self.state.decrement(key, amount)

    def get(self, key: str) -> int:
        return self.state.value(key)

    def get_expiry(self, key: str) -> float:
        expires_at = self.state.expires_at(key)
        return time.time() if expires_at is None else expires_at

    def check(self) -> bool:
        try:
            return self.state.check()
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self.state.delete_all()

    def clear(self, key: str) -> None:
        self.state.delete(key)

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        return self.state.acquire(key, limit, expiry, amount)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        return self.state.window(key, expiry)
