"""Failed-login throttling: exponential back-off per (account, client), per client and per account.

Only requests that presented credentials which turned out wrong count (a request without an
`Authorization` header is a challenge, not a guess). Each failure increments three counters:

- (account, client address): after `free` failures in the window, that pair is locked for
  `base`, then 2x, 4x ... seconds (capped at `cap`); the owner at another address is unaffected;
- client address (any account): the same with a larger allowance (password spraying);
- account (any address): the same with the largest allowance (a distributed guess), but the lock
  spares addresses that logged in to that account successfully before (known addresses), so an
  attack from elsewhere cannot lock the owner out.

A success resets the (account, client) counter. Counts live in Redis when `REDIS_URL` is set (all
workers share them), else in the SQLite file this host's worker processes share (`state_file`,
`api.access.shared_state`), else (no file configured: tests) in this process's memory. If the
shared store fails, this process's memory takes over: the throttle never fails a request and never
stops throttling.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import Protocol

import redis
from limits import parse
from redis.backoff import NoBackoff
from redis.retry import Retry

from api.access.shared_state import SharedState

log = logging.getLogger(__name__)
KNOWN_ADDRESS_SECONDS = 30 * 24 * 3600


@dataclass(frozen=True)
class Rule:
    """`free` failures per `window` seconds, then a lock of base * 2**(extra failures), capped."""

    scope: str
    free: int
    window: int
    text: str  # the configured value, shown in the 429's detail

    @classmethod
    def parse(cls, scope: str, text: str) -> Rule:
        item = parse(text)
        return cls(scope, item.amount, item.get_expiry(), str(item))


@dataclass(frozen=True)
class Locked:
    """A refusal: which rule, and seconds until the lock ends."""

    rule: Rule
    retry_after: int


class CounterStore(Protocol):
    """Where the throttle keeps its counters and locks: the policy above never depends on which."""

    def incr(self, key: str, expiry: float) -> int: ...

    def ttl(self, key: str) -> float: ...

    def set(self, key: str, seconds: float) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryCounters:
    """Counters with expiry in this process; a lock makes increments exact across threads."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[int, float]] = {}
        self.mutex = threading.Lock()

    def incr(self, key: str, expiry: float) -> int:
        now = time.monotonic()
        with self.mutex:
            value, until = self.values.get(key, (0, 0.0))
            value = value + 1 if until > now else 1
            self.values[key] = (value, now + expiry)
            if len(self.values) > 100_000:  # bounded: drop what expired
                self.values = {k: v for k, v in self.values.items() if v[1] > now}
            return value

    def ttl(self, key: str) -> float:
        with self.mutex:
            _, until = self.values.get(key, (0, 0.0))
        return max(until - time.monotonic(), 0.0)

    def set(self, key: str, seconds: float) -> None:
        with self.mutex:
            self.values[key] = (1, time.monotonic() + seconds)

    def delete(self, key: str) -> None:
        with self.mutex:
            self.values.pop(key, None)


class RedisCounters:
    """The same on Redis, one round trip per call, short timeouts, no retries."""

    def __init__(self, url: str, timeout: float) -> None:
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )

    def incr(self, key: str, expiry: float) -> int:
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, max(int(expiry), 1))
        return int(pipe.execute()[0])

    def ttl(self, key: str) -> float:
        return max(self.client.pttl(key), 0) / 1000

    def set(self, key: str, seconds: float) -> None:
        self.client.set(key, 1, px=max(int(seconds * 1000), 1))

    def delete(self, key: str) -> None:
        self.client.delete(key)


class FileCounters:
    """The same in the SQLite file this host's processes share; every increment refreshes the expiry."""

    def __init__(self, path: str) -> None:
        self.state = SharedState(path)

    def incr(self, key: str, expiry: float) -> int:
        return self.state.increment(key, expiry, refresh=True)

    def ttl(self, key: str) -> float:
        expires_at = self.state.expires_at(key)
        return 0.0 if expires_at is None else max(expires_at - time.time(), 0.0)

    def set(self, key: str, seconds: float) -> None:
        self.state.put(key, 1, seconds)

    def delete(self, key: str) -> None:
        self.state.delete(key)


class LoginThrottle:
    """The failed-login policy of one app; see the module docstring."""

    def __init__(
        self,
        secret: str,
        pair: str,
        client: str,
        account: str,
        base: int,
        cap: int,
        prefix: str,
        redis_url: str | None = None,
        timeout: float = 0.05,
        state_file: str | None = None,
    ) -> None:
        self.secret = secret.encode()
        self.rules = {
            "pair": Rule.parse("account and client", pair),
            "client": Rule.parse("client", client),
            "account": Rule.parse("account", account),
        }
        self.base, self.cap, self.prefix = base, cap, prefix
        self.memory: CounterStore = MemoryCounters()
        self.shared: CounterStore | None = None
        if redis_url:
            self.shared = RedisCounters(redis_url, timeout)
        elif state_file:
            self.shared = FileCounters(state_file)

    def _key(self, kind: str, *parts: str) -> str:
        """Keys carry a keyed hash, never a user name or address in clear."""
        digest = hmac.new(self.secret, "\0".join(parts).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{self.prefix}-login:{kind}:{digest}"

    def _keys(self, account: str | None, address: str) -> dict[str, str]:
        if account is None:
            return {"client": self._key("client", address)}
        return {
            "pair": self._key("pair", account, address),
            "client": self._key("client", address),
            "account": self._key("account", account),
        }

    def _call(self, method: str, *args):
        """The shared store (Redis or the file) when configured and answering, else this process's memory."""
        if self.shared is not None:
            try:
                return getattr(self.shared, method)(*args)
            except (redis.RedisError, sqlite3.Error) as error:
                log.warning("Login throttle: shared store unavailable, counting in memory: %s", error)
        return getattr(self.memory, method)(*args)

    def locked(self, account: str | None, address: str) -> Locked | None:
        """The lock that refuses this (account, address) now, if any; checked before any hashing."""
        keys = self._keys(account, address)
        for scope, key in keys.items():
            remaining = self._call("ttl", f"{key}:lock")
            if remaining <= 0:
                continue
            if scope == "account" and self._call("ttl", self._key("known", account, address)) > 0:
                continue  # the owner's known address is never locked out by others' guesses
            return Locked(self.rules[scope], max(int(remaining + 0.999), 1))
        return None

    def failed(self, account: str | None, address: str) -> None:
        """Count a wrong credential; past a rule's allowance, lock for base * 2**extra seconds."""
        for scope, key in self._keys(account, address).items():
            rule = self.rules[scope]
            failures = self._call("incr", key, rule.window + self.cap)  # forgotten after a quiet spell
            extra = failures - rule.free
            if extra >= 0:
                seconds = min(self.base * 2 ** min(extra, 30), self.cap)
                self._call("set", f"{key}:lock", seconds)
                log.warning(
                    "Login throttled",
                    extra={"scope": rule.scope, "failures": failures, "lock_seconds": seconds},
                )

    def succeeded(self, account: str, address: str) -> None:
        """Reset the pair's count and remember the address as one the owner uses."""
        pair = self._key("pair", account, address)
        self._call("delete", pair)
        self._call("delete", f"{pair}:lock")
        self._call("set", self._key("known", account, address), KNOWN_ADDRESS_SECONDS)
