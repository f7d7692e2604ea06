"""Read-through response cache: keys, the data version, Redis or in-process storage, fail-open.

Every read endpoint answers through `ResponseCache.respond(key, compute)`. An entry's key is
prefix + API version + data version + the normalised query; its value is the response's
status, headers and JSON bytes, replayed as stored. Every write calls `bump_data_version()`
after it commits, so later reads use new keys and never see an older entry. Redis trouble
never fails a request: no retries, timeouts of tens of milliseconds, then a cool-down during
which Redis is not called at all.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from cachetools import TTLCache
from flask import Flask, Response, current_app, request
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

from api.replica import compute_read

log = logging.getLogger(__name__)

API_VERSION = "v1"
CACHEABLE_STATUSES = {200, 204, 404}
# Retry-After: the dashboard's 429/503 from on-demand backfill pass through here too (never stored).
STORED_HEADERS = ("Content-Type", "X-Total-Count", "Content-Disposition", "Vary", "Retry-After", "X-Data-Through")
# One round trip per lookup: read the data version and the entry stored under it.
LOOKUP_SCRIPT = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""
# Every bump is announced on a channel, for the workers' near caches.
BUMP_SCRIPT = """
local version = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], version)
return version
"""
# A worker serves its near copies only if a full lookup agreed with the pushed version this recently.
VERIFY_SECONDS = 1.0


@dataclass(frozen=True)
class CachedResponse:
    """What is stored: status, the headers that matter, the body bytes and their strong ETag."""

    status: int
    headers: dict[str, str]
    body: bytes
    etag: str

    @classmethod
    def of(cls, response: Response) -> CachedResponse:
        body = response.get_data()
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        kept = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
        return cls(response.status_code, kept, body, f"{response.status_code}-{digest}")

    def encode(self) -> bytes:
        return json.dumps([self.status, self.headers, self.etag]).encode() + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> CachedResponse:
        meta, _, body = raw.partition(b"\n")
        status, headers, etag = json.loads(meta)
        return cls(status, headers, body, etag)

    def to_response(self, cache_control: str) -> Response:
        """The stored answer, or 304 when the client's If-None-Match already holds this ETag."""
        headers = [("ETag", f'"{self.etag}"'), ("Cache-Control", cache_control)]
        # Preconditions apply to successful answers only (RFC 9110 13.2.1): a 404 stays a 404.
        conditional = self.status == 200 and "If-None-Match" in request.headers
        if conditional and request.if_none_match.contains_weak(self.etag):
            response = Response(status=304, headers=headers)
        else:
            response = Response(self.body, status=self.status, headers=[*headers, *self.headers.items()])
        if "Content-Type" not in self.headers or response.status_code == 304:
            del response.headers["Content-Type"]  # Werkzeug would default to text/html
        return response


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

    def bump(self) -> None:
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


class NearCache:
    """This worker's copies of Redis entries, used only while Redis pushes it the data version.

    A hit served from here costs no round trip. The worker subscribes to the channel every bump
    publishes on and drains it (a non-blocking read of its own socket) before each lookup, so a
    write anywhere empties every worker's copies. Copies are served only while the subscription is
    up and a full Redis lookup agreed with the pushed version less than `VERIFY_SECONDS` ago (a
    guard against a connection that died silently). Errors are the caller's: it drops the cache.
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
            # Read after subscribing, so no bump can fall between the two.
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
        self._bump = self.client.register_script(BUMP_SCRIPT)
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
            self._publish_bump()

    def _publish_bump(self) -> None:
        self._bump(keys=[self.version_key], args=[self.channel])
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

    def bump(self) -> None:
        try:
            self._publish_bump()
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


class AppCache:
    """One app's cache: its backend (from that app's config) and its Cache-Control value."""

    def __init__(self, app: Flask) -> None:
        ttl = app.config["CACHE_TTL"]
        # Reads behind READ_AUTH must not be kept by shared caches (proxies, CDNs).
        visibility = "private" if app.config["READ_AUTH"] else "public"
        self.cache_control = f"{visibility}, max-age={app.config['HTTP_CACHE_MAX_AGE']}"
        self.max_entry_bytes = app.config["CACHE_MAX_ENTRY_KB"] * 1024
        self.backend: LocalBackend | RedisBackend | None = None
        if ttl <= 0:
            self.backend = None
        elif app.config["REDIS_URL"]:
            self.backend = RedisBackend(
                app.config["REDIS_URL"],
                app.config["CACHE_KEY_PREFIX"],
                ttl,
                timeout=app.config["CACHE_REDIS_TIMEOUT_MS"] / 1000,
                cooldown=app.config["CACHE_REDIS_COOLDOWN"],
                near_ttl=app.config["CACHE_NEAR_TTL"],
                near_max_bytes=app.config["CACHE_NEAR_MAX_MB"] * 1024 * 1024,
            )
        else:
            self.backend = LocalBackend(ttl, Path(app.config["CACHE_VERSION_FILE"]))

    def _lookup_or_compute(self, key: str, compute: Callable[[], Response]) -> CachedResponse:
        if self.backend is None:
            return CachedResponse.of(compute_read(compute))
        version, raw = self.backend.lookup(key)
        if raw is not None:
            return CachedResponse.decode(raw)
        # After the version is read: a replica computes only if it has replayed every write
        # committed by now, so the answer is never older than the version it is stored under.
        fresh = CachedResponse.of(compute_read(compute))
        # Bounded: a response above CACHE_MAX_ENTRY_KB is served but never stored (memory).
        if fresh.status in CACHEABLE_STATUSES and len(fresh.body) <= self.max_entry_bytes:
            self.backend.store(version, key, fresh.encode())
        return fresh

    def respond(self, key: str, compute: Callable[[], Response]) -> Response:
        """A stored response for `key`, else `compute()` stored; with ETag, Cache-Control and 304."""
        return self._lookup_or_compute(key, compute).to_response(self.cache_control)

    def bump(self) -> None:
        """Invalidate every cached read (call after a write has committed)."""
        if self.backend is not None:
            self.backend.bump()

    def state(self) -> dict[str, str]:
        if self.backend is None:
            return {"backend": "off", "status": "ok"}
        return self.backend.state()


class ResponseCache:
    """The Flask extension: instantiated once, with per-app state in `app.extensions` (so several
    apps in one process, as in tests and benchmarks, each keep their own backend)."""

    def init_app(self, app: Flask) -> None:
        app.extensions["response_cache"] = AppCache(app)

    @staticmethod
    def _current() -> AppCache:
        return current_app.extensions["response_cache"]

    def respond(self, key: str, compute: Callable[[], Response]) -> Response:
        """See `AppCache.respond`, for the current app."""
        return self._current().respond(key, compute)

    def bump(self) -> None:
        """Invalidate the current app's cached reads (call after a write has committed)."""
        self._current().bump()

    def state(self) -> dict[str, str]:
        return self._current().state()


def bump_data_version() -> None:
    """The one place writes invalidate cached reads."""
    current_app.extensions["response_cache"].bump()
