"""The read-through response cache of one app: keys in, stored responses out, ETag and 304.

Every read endpoint answers through `response_cache.respond(key, compute)`. An entry's key is
prefix + API version + data version + the normalised query; its value is the response's status,
headers and JSON bytes, replayed as stored. A committed write calls `invalidate()` (see
`api.cache.invalidation`), so later reads use new keys and never see an older entry.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from flask import Flask, Response, current_app, request
from sqlalchemy import Engine
from werkzeug.local import LocalProxy

from api.cache.invalidation import invalidate_after_commits
from api.cache.local import LocalBackend
from api.cache.redis import RedisBackend
from api.replica import compute_read

EXTENSION = "response_cache"
# 404s are not stored: a client names unknown symbols at will (`id=<1,000 made-up symbols>` stored
# an 8 KB key and a 9 KB body for CACHE_TTL), so storing them let any client fill Redis. Known
# symbols have a bounded number of answers; an unknown one costs one index probe to refuse again.
CACHEABLE_STATUSES = {200, 204}
# A key longer than this (a long symbol list) is stored under its digest: every key has a fixed
# maximum size, whatever the query's length.
MAX_PLAIN_KEY_LENGTH = 128
# Retry-After: the dashboard's 429/503 from on-demand backfill pass through here too (never stored).
STORED_HEADERS = ("Content-Type", "X-Total-Count", "Content-Disposition", "Vary", "Retry-After", "X-Data-Through")


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
        # From the WSGI environ: werkzeug's `in request.headers` raises and catches an error when absent.
        conditional = self.status == 200 and "HTTP_IF_NONE_MATCH" in request.environ
        if conditional and request.if_none_match.contains_weak(self.etag):
            response = Response(status=304, headers=headers)
        else:
            response = Response(self.body, status=self.status, headers=[*headers, *self.headers.items()])
        if "Content-Type" not in self.headers or response.status_code == 304:
            del response.headers["Content-Type"]  # Werkzeug would default to text/html
        return response


def stored_key(key: str) -> str:
    """`key` itself when short, else a fixed-size digest of it (keys stay readable where they can)."""
    if len(key) <= MAX_PLAIN_KEY_LENGTH:
        return key
    return "digest:" + hashlib.blake2b(key.encode("utf-8", "backslashreplace"), digest_size=20).hexdigest()


class ResponseCache:
    """One app's cache: its backend (from that app's config; None when `CACHE_TTL` is 0) and its
    Cache-Control value. Kept in `app.extensions`, so several apps in one process (tests,
    benchmarks) each have their own."""

    def __init__(self, app: Flask) -> None:
        ttl = app.config["CACHE_TTL"]
        # Reads behind READ_AUTH must not be kept by shared caches (proxies, CDNs).
        visibility = "private" if app.config["READ_AUTH"] else "public"
        self.cache_control = f"{visibility}, max-age={app.config['HTTP_CACHE_MAX_AGE']}"
        self.max_entry_bytes = app.config["CACHE_MAX_ENTRY_KB"] * 1024
        self.backend: LocalBackend | RedisBackend | None = None
        if ttl > 0 and app.config["REDIS_URL"]:
            self.backend = RedisBackend(
                app.config["REDIS_URL"],
                app.config["CACHE_KEY_PREFIX"],
                ttl,
                timeout=app.config["CACHE_REDIS_TIMEOUT_MS"] / 1000,
                cooldown=app.config["CACHE_REDIS_COOLDOWN"],
                near_ttl=app.config["CACHE_NEAR_TTL"],
                near_max_bytes=app.config["CACHE_NEAR_MAX_MB"] * 1024 * 1024,
            )
        elif ttl > 0:
            self.backend = LocalBackend(ttl, Path(app.config["CACHE_VERSION_FILE"]))

    def respond(self, key: str, compute: Callable[[], Response]) -> Response:
        """A stored response for `key`, else `compute()` stored; with ETag, Cache-Control and 304."""
        return self._lookup_or_compute(key, compute).to_response(self.cache_control)

    def _lookup_or_compute(self, key: str, compute: Callable[[], Response]) -> CachedResponse:
        if self.backend is None:
            return CachedResponse.of(compute_read(compute))
        key = stored_key(key)
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

    def invalidate(self) -> None:
        """Invalidate every cached read: the one call, made after a commit that changed data."""
        if self.backend is not None:
            self.backend.invalidate()

    def state(self) -> dict[str, str]:
        if self.backend is None:
            return {"backend": "off", "status": "ok"}
        return self.backend.state()


def init_cache(app: Flask, engine: Engine) -> ResponseCache:
    """Give `app` its cache, invalidated after every commit on `engine` that changed data."""
    cache = app.extensions[EXTENSION] = ResponseCache(app)
    if cache.backend is not None:  # CACHE_TTL=0: nothing to invalidate, no listeners
        invalidate_after_commits(engine, cache.invalidate)
    return cache


# The current app's cache, for the resources (like `current_app`).
response_cache = cast(ResponseCache, LocalProxy(lambda: current_app.extensions[EXTENSION]))
