"""The in-process backend: entries per worker, the data version in a file shared by this host's workers."""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cachetools import TTLCache


class LocalBackend:
    """In-process entries (per worker) with a data version in a file shared by this host's processes."""

    name = "in-process"

    def __init__(self, ttl: int, version_file: Path, maxsize: int = 4096) -> None:
        self.clock: Callable[[], float] = time.monotonic
        self._entries: TTLCache = TTLCache(maxsize, ttl, timer=lambda: self.clock())
        self._lock = threading.Lock()
        self.version_file = version_file

    def _version(self) -> str:
        try:
            return self.version_file.read_text().strip() or "0"
        except FileNotFoundError:
            return "0"

    def lookup(self, key: str) -> tuple[str | None, bytes | None]:
        version = self._version()
        with self._lock:
            return version, self._entries.get(f"{version}:{key}")

    def store(self, version: str | None, key: str, value: bytes) -> None:
        with self._lock:
            self._entries[f"{version}:{key}"] = value

    def invalidate(self) -> None:
        """Increment the shared version (under a file lock: the workers write it too)."""
        self.version_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.version_file, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            current = int(handle.read().strip() or 0)
            handle.seek(0)
            handle.truncate()
            handle.write(str(current + 1))
        with self._lock:
            self._entries.clear()

    def state(self) -> dict[str, str]:
        return {"backend": self.name, "status": "ok"}
