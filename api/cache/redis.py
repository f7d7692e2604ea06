"""The Redis backend: one Lua round trip per lookup, short timeouts, no retries, and a cool-down
after a failure during which Redis is not called (requests are answered from the database)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from api.cache.near import NearCache

log = logging.getLogger(__name__)

API_VERSION = "v1"
# One round trip per lookup: read the data version and the entry stored under it.
LOOKUP_SCRIPT = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""
# Every new version is announced on a channel, for the workers' near caches.
NEW_VERSION_SCRIPT = """
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], version)
return version
"""


class RedisBackend:
    """Redis entries behind a circuit breaker (a failure skips Redis for `cooldown` seconds),
    with a `NearCache` in front when `near_ttl` > 0."""

    name = "redis"

    def __init__(
        self,
        url: str,
        prefix: str,
        ttl: int,
        timeout: float,
        cooldown: float,
        near_ttl: float = 0,
        near_max_bytes: int = 0,
    ) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self._lookup = self.client.register_script(LOOKUP_SCRIPT)
        self._new_version = self.client.register_script(NEW_VERSION_SCRIPT)
        self.version_key = f"{prefix}:data-version"
        self.channel = f"{prefix}:data-version-changed"
        self.entry_prefix = f"{prefix}:{API_VERSION}:"
        self.ttl = ttl
        self.cooldown = cooldown
        self.near: NearCache | None = None
        if near_ttl > 0 and near_max_bytes > 0:
            self.near = NearCache(
                self.client, self.channel, self.version_key, min(near_ttl, ttl), near_max_bytes, timeout
            )
        self._clock: Callable[[], float] = time.monotonic
        self._down_until = 0.0
        self._in_outage = False
        self._state_lock = threading.Lock()

    @property
    def clock(self) -> Callable[[], float]:
        return self._clock

    @clock.setter
    def clock(self, clock: Callable[[], float]) -> None:
        """One clock for the cool-down and the near cache (tests move a fake one)."""
        self._clock = clock
        if self.near is not None:
            self.near.clock = clock

    def _available(self) -> bool:
        return self.clock() >= self._down_until

    def _failed(self, error: RedisError) -> None:
        if (near := self.near) is not None:
            near.drop()
        with self._state_lock:
            self._down_until = self.clock() + self.cooldown
            first = not self._in_outage
            self._in_outage = True
        if first:
            log.warning("Redis cache unavailable; serving from the database, retry in %s s: %s", self.cooldown, error)

    def _reachable(self) -> None:
        """Called after a command succeeded; the first success after an outage invalidates."""
        with self._state_lock:
            recovered, self._in_outage = self._in_outage, False
        if recovered:
            # Writes may have happened while Redis could not be told: drop every older entry.
            log.warning("Redis cache reachable again; invalidating entries from before the outage")
            self._publish_new_version()

    def _publish_new_version(self) -> None:
        self._new_version(keys=[self.version_key], args=[self.channel])
        # Redis writes a PUBLISH to every subscriber before it reads this client's next command:
        # once PING answers, the workers of this host hold the new version in their sockets.
        self.client.ping()

    def _near_copy(self, near: NearCache, key: str) -> tuple[bytes, bytes] | None:
        try:
            return near.get(key)
        except RedisError:
            # The subscription is gone (Redis restarted, or the connection was killed): full
            # lookups until the next one succeeds and subscribes again.
            near.drop()
            return None

    def _confirm_near(self, near: NearCache, version: bytes) -> bool:
        """Whether `near` may keep copies; False (and no near cache from now on) if pub/sub is refused."""
        try:
            near.confirm(version)
        except ResponseError as refusal:
            # The server refuses pub/sub (an ACL, a proxy without it): no near cache, Redis still used.
            log.warning("Redis refused SUBSCRIBE; serving every hit from Redis itself: %s", refusal)
            near.drop()
            self.near = None
            return False
        return True

    def lookup(self, key: str) -> tuple[str | None, bytes | None]:
        """(data version, stored bytes or None); (None, None) when Redis is skipped or failing."""
        if not self._available():
            return None, None
        near = self.near  # one reference for the whole lookup: another thread may switch it off
        try:
            if near is not None and (copy := self._near_copy(near, key)) is not None:
                return copy[0].decode(), copy[1]
            version, value = self._lookup(keys=[self.version_key], args=[self.entry_prefix, f":{key}"])
            if self._in_outage:
                self._reachable()
                version, value = self._lookup(keys=[self.version_key], args=[self.entry_prefix, f":{key}"])
            if near is not None and self._confirm_near(near, version) and value is not None:
                near.put(version, key, value)
        except RedisError as error:
            self._failed(error)
            return None, None
        return version.decode(), value

    def store(self, version: str | None, key: str, value: bytes) -> None:
        if version is None or not self._available():
            return
        try:
            self.client.set(f"{self.entry_prefix}{version}:{key}", value, ex=self.ttl)
        except RedisError as error:
            self._failed(error)
            return
        if (near := self.near) is not None:
            near.put(version.encode(), key, value)

    def invalidate(self) -> None:
        """Publish a new data version; on failure, the first success after the outage does it."""
        try:
            self._publish_new_version()
        except RedisError as error:
            self._failed(error)
            log.warning("Could not invalidate cached reads; they are dropped when Redis answers again")

    def state(self) -> dict[str, str]:
        if not self._available():
            return {"backend": self.name, "status": "unavailable"}
        try:
            self.client.ping()
            self._reachable()
        except RedisError as error:
            self._failed(error)
            return {"backend": self.name, "status": "unavailable"}
        return {"backend": self.name, "status": "ok"}
