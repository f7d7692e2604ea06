"""The inline-expiry memory storage: same limits as `memory://`, no timer threads."""

from __future__ import annotations

import threading

import limits.storage.memory
from limits import parse, storage, strategies

import api.access.limiter_storage as limiter_storage


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_inline_memory_limits_like_memory_without_threads(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(limits.storage.memory.time, "time", clock)
    monkeypatch.setattr(limiter_storage.time, "monotonic", clock)
    store = storage.storage_from_string("inline-memory://")
    assert isinstance(store, limiter_storage.InlineExpiryMemoryStorage)
    threads = threading.active_count()
    for strategy in (strategies.MovingWindowRateLimiter, strategies.FixedWindowRateLimiter):
        limiter = strategy(store)
        limit = parse("3/minute")
        key = strategy.__name__
        assert [limiter.hit(limit, key) for _ in range(4)] == [True, True, True, False]
        clock.now += 30
        assert not limiter.hit(limit, key)  # still inside the minute
        clock.now += 31
        assert limiter.hit(limit, key)  # the window has passed
    assert threading.active_count() == threads  # no timer thread was started


def test_expired_entries_are_dropped_inline(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(limits.storage.memory.time, "time", clock)
    monkeypatch.setattr(limiter_storage.time, "monotonic", clock)
    store = limiter_storage.InlineExpiryMemoryStorage()
    limiter = strategies.MovingWindowRateLimiter(store)
    for client in range(50):
        limiter.hit(parse("10/second"), f"client-{client}")
    assert sum(len(entries) for entries in store.events.values()) == 50
    clock.now += 5  # past the window and the expiry interval
    limiter.hit(parse("10/second"), "client-new")
    assert sum(len(entries) for entries in store.events.values()) == 1  # only the new client's entry
