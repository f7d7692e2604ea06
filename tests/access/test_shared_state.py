"""The SQLite file the embedded default's processes share: exact windows and counters under contention."""

from __future__ import annotations

import multiprocessing
import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

import api.access.limiter_storage  # noqa: F401  (registers shared-file://)
from api.access.login_throttle import FileCounters
from api.access.shared_state import SharedState

LIMIT = 50


def take_entries(path: str, attempts: int, granted: multiprocessing.Queue) -> None:
    """In a process of its own: try `attempts` entries from 4 threads, report how many were granted."""
    state = SharedState(path)
    results: list[bool] = []

    def worker() -> None:
        for _ in range(attempts // 4):
            results.append(state.acquire("budget", LIMIT, 60))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted.put(sum(results))


def test_window_is_exact_across_processes_and_threads(tmp_path):
    """Two processes of 4 threads each ask 80 entries each of a window of 50: exactly 50 are granted."""
    path = str(tmp_path / "state.sqlite")
    context = multiprocessing.get_context("spawn")  # no state inherited from this process
    granted = context.Queue()
    processes = [context.Process(target=take_entries, args=(path, 80, granted)) for _ in range(2)]
    for process in processes:
        process.start()
    counts = [granted.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sum(counts) == LIMIT
    assert SharedState(path).window("budget", 60)[1] == LIMIT


def test_window_counts_only_entries_inside_it(tmp_path, monkeypatch):
    """Entries older than the window free their places; the window's start is its oldest live entry."""
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    state = SharedState(tmp_path / "state.sqlite")
    assert [state.acquire("k", 3, 10) for _ in range(4)] == [True, True, True, False]
    now[0] += 5
    assert state.acquire("k", 3, 10) is False
    assert state.window("k", 10) == (1_000_000.0, 3)
    now[0] += 5.5  # the first three are out of the window
    assert state.window("k", 10) == (now[0], 0)
    assert [state.acquire("k", 3, 10, amount=2), state.acquire("k", 3, 10, amount=2)] == [True, False]
    assert state.acquire("k", 3, 10, amount=4) is False  # more than the limit at once


def test_counters_expire_and_refresh(tmp_path, monkeypatch):
    """A plain counter keeps its first expiry; the throttle's is pushed back by each failure."""
    now = [2_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    state = SharedState(tmp_path / "state.sqlite")
    assert [state.increment("fixed", 10) for _ in range(3)] == [1, 2, 3]
    now[0] += 6
    assert state.increment("fixed", 10) == 4 and state.expires_at("fixed") == 2_000_010.0
    now[0] += 5
    assert state.value("fixed") == 0 and state.increment("fixed", 10) == 1
    counters = FileCounters(str(tmp_path / "state.sqlite"))
    assert counters.incr("pair", 10) == 1
    now[0] += 8
    assert counters.incr("pair", 10) == 2 and counters.ttl("pair") == 10.0
    counters.set("pair:lock", 30)
    assert counters.ttl("pair:lock") == 30.0
    counters.delete("pair:lock")
    assert counters.ttl("pair:lock") == 0.0


def test_limits_strategy_over_the_shared_file(tmp_path):
    """`limits`' moving window over `shared-file://`: refusals, window stats and reset as with memory."""
    storage = storage_from_string(f"shared-file://{tmp_path}/state.sqlite")
    limiter = MovingWindowRateLimiter(storage)
    item = parse("3 per minute")
    assert [limiter.hit(item, "client") for _ in range(4)] == [True, True, True, False]
    assert limiter.get_window_stats(item, "client").remaining == 0
    assert limiter.hit(item, "another client")
    assert storage.check()
    storage.reset()
    assert limiter.get_window_stats(item, "client").remaining == 3
