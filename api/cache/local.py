"""The in-process backend: entries per worker, the data version in a file shared by this host's workers."""

from __future__ import annotations

import fcntl
import os
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
        """Increment the shared version: under a lock file (the workers write it too), and by renaming
        a new file over the old one, so that a reader in another process sees the old version or the
        new one, never the empty file of a rewrite in place (read as version 0: entries from then)."""
        self.version_file.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{self.version_file}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = int(self._version())
            staged = self.version_file.with_name(f"{self.version_file.name}.{os.getpid()}.new")
            staged.write_text(str(current + 1))
            os.replace(staged, self.version_file)
        with self._lock:
            self._entries.clear()

    def state(self) -> dict[str, str]:
        return {"backend": self.name, "status": "ok"}
