"""Load: 60 s at 64 connections against gunicorn on 127.0.0.1 (wrk), four endpoints side by side.

Usage: `python bench/load.py [--database-url URL] [--redis-url URL] [--seconds 60] [--connections 64]`.
Needs `wrk` (Debian package). The database is migrated and seeded from the bundled CSVs (default:
a temporary SQLite file; pass a scratch PostgreSQL database to measure that). Two gunicorn runs
with the project's gunicorn.conf.py and the same workers: the cache on (`GET /health` and the
cached `dashboard?id=all`), then `CACHE_TTL=0` (the same dashboard, uncached: every request
queries the database), and BTC's 10-year daily history uncached. Rate limits are off: one
generator on one address is throttled by design.
Prints a Markdown table and exits 1 if any answer was not 2xx or any socket failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid

import redis
from harness import WrkResult, free_port, machine, seeded_database, serve, wrk

DASHBOARD = "/api/v1/dashboard?id=all"
HISTORY = "/api/v1/currencies/btc/history?start=2011-07-06&end=2021-07-06&interval=1d"


def measure(env: dict[str, str], paths: list[str], args: argparse.Namespace) -> list[WrkResult]:
    port = free_port()
    server = serve(env, port, args.workers)
    try:
        return [wrk(f"http://127.0.0.1:{port}{path}", args.seconds, args.connections) for path in paths]
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="a scratch database (default: temporary SQLite)")
    parser.add_argument("--redis-url", help="Redis for the cache (default: the in-process cache)")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    workdir = tempfile.TemporaryDirectory()
    url = seeded_database(args.database_url or f"sqlite:///{workdir.name}/load.sqlite")
    prefix = f"bench-load-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": url, "SEED_ON_STARTUP": "off", "LOG_LEVEL": "WARNING"}
    env |= {"RATELIMIT_ENABLED": "off", "CACHE_TTL": "1800", "CACHE_VERSION_FILE": f"{workdir.name}/cache-version"}
    env.pop("REDIS_URL", None)
    if args.redis_url:
        env |= {"REDIS_URL": args.redis_url, "CACHE_KEY_PREFIX": prefix}
    trivial, cached = measure(env, ["/health", DASHBOARD], args)
    uncached, history = measure(env | {"CACHE_TTL": "0"}, [DASHBOARD, HISTORY], args)
    if args.redis_url:
        client = redis.Redis.from_url(args.redis_url)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    workdir.cleanup()

    cache = "Redis" if args.redis_url else "in-process"
    print(f"gunicorn {args.workers} sync workers (gunicorn.conf.py), wrk -t2 -c{args.connections} -d{args.seconds}s")
    print(f"on 127.0.0.1, all sharing {machine()}")
    print(f"database {url.split(':')[0]}, cache {cache}\n")
    print("| endpoint | requests/s | p50 | p99 | non-2xx or socket errors |")
    print("|---|---|---|---|---|")
    rows = (
        ("`GET /health`", trivial),
        (f"`GET {DASHBOARD}`, cached", cached),
        (f"`GET {DASHBOARD}`, uncached", uncached),
        ("BTC history, 10 years daily (2,991 candles), uncached", history),
    )
    for label, result in rows:
        print(f"| {label} | {result.rate:,.0f} | {result.p50} | {result.p99} | {result.non_2xx} |")
    if any(result.non_2xx for _, result in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
