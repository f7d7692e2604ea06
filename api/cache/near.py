"""The near cache (`CACHE_NEAR_TTL`): this worker's copies of Redis entries, served with no round
trip while Redis pushes it the data version."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from cachetools import TTLCache
from redis.client import PubSub
from redis.exceptions import RedisError

# A worker serves its near copies only if a full lookup agreed with the pushed version this recently.
VERIFY_SECONDS = 1.0


class NearCache:
    """This worker's copies of Redis entries, used only while Redis pushes it the data version.

    A hit served from here costs no round trip. The worker subscribes to the channel every
    invalidation publishes on and drains it (a non-blocking read of its own socket) before each
    lookup, so a write anywhere empties every worker's copies. Copies are served only while the
    subscription is up and a full Redis lookup agreed with the pushed version less than
    `VERIFY_SECONDS` ago (a guard against a connection that died silently). Errors are the
    caller's: it drops the cache.
    """

    def __init__(
        self, client: redis.Redis, channel: str, version_key: str, ttl: float, max_bytes: int, timeout: float
    ) -> None:
        self.client = client
        self.channel = channel
        self.version_key = version_key
        self.timeout = timeout
        self.clock: Callable[[], float] = time.monotonic
        self._entries: TTLCache = TTLCache(max_bytes, ttl, timer=lambda: self.clock(), getsizeof=len)
        self._pubsub: PubSub | None = None
        self._version: bytes | None = None
        self._verified_until = float("-inf")
        self._lock = threading.Lock()

    @property
    def subscribed(self) -> bool:
        return self._pubsub is not None

    def get(self, key: str) -> tuple[bytes, bytes] | None:
        """(version, bytes) of a copy the pushed version still vouches for, else None."""
        with self._lock:
            if self._pubsub is None:
                return None
            while (message := self._pubsub.get_message(timeout=0)) is not None:
                if message["type"] == "message" and message["data"] != self._version:
                    self._version = message["data"]
                    self._entries.clear()
            if self.clock() >= self._verified_until:
                return None
            raw = self._entries.get(key)
        return None if raw is None else (self._version, raw)

    def confirm(self, version: bytes) -> None:
        """After a full Redis lookup: subscribe if not yet, and vouch for copies if versions agree."""
        with self._lock:
            if self._pubsub is None:
                self._subscribe()
            if version == self._version:
                self._verified_until = self.clock() + VERIFY_SECONDS

    def _subscribe(self) -> None:
        pubsub = self.client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            if pubsub.get_message(timeout=self.timeout) is None:
                raise redis.TimeoutError("no confirmation of SUBSCRIBE")
            # Read after subscribing, so no invalidation can fall between the two.
            self._version = self.client.get(self.version_key) or b"0"
        except RedisError:
            pubsub.close()
            raise
        self._pubsub = pubsub
        self._entries.clear()

    def put(self, version: bytes, key: str, value: bytes) -> None:
        """Keep a copy of an entry of the pushed version (entries of any other version are not kept)."""
        with self._lock:
            if self._pubsub is not None and version == self._version and len(value) <= self._entries.maxsize:
                self._entries[key] = value

    def drop(self) -> None:
        """Forget the subscription and every copy (Redis failed: nothing vouches for them now)."""
        with self._lock:
            if self._pubsub is not None:
                self._pubsub.close()
            self._pubsub = None
            self._version = None
            self._verified_until = float("-inf")
            self._entries.clear()
