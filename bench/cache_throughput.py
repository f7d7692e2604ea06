"""Throughput under gunicorn on 127.0.0.1: trivial endpoint, cache hit, cache miss (wrk on loopback).

Usage: `python bench/cache_throughput.py [--redis-url URL] [--database-url URL] [--seconds N]`.
Needs `wrk` (Debian package). Runs the same gunicorn settings with the Redis cache and with the
in-process cache; a miss is a dashboard query whose date and page size change on every request.
Prints a table; asserts nothing. Its Redis keys (own prefix) are deleted afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import redis
from harness import WrkResult, free_port, median_run, seeded_database, serve, wrk

# Every request asks for another (date, per_page): 3,000 days x 1,000 sizes never repeat in a run.
MISS_SCRIPT = """
counter = 0
request = function()
  counter = counter + 1
  local day = os.date("!%Y-%m-%d", 1370000000 + (counter % 2900) * 86400)
  local per_page = 1 + math.floor(counter / 2900) % 1000
  return wrk.format("GET", "/api/v1/dashboard?id=all&date=" .. day .. "&per_page=" .. per_page)
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--database-url", help="a scratch database (default: temporary SQLite)")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved runs per endpoint; the median is shown")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="> 1: gthread workers with this many threads")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: apt-get install wrk")

    workdir = tempfile.TemporaryDirectory()
    url = seeded_database(args.database_url or f"sqlite:///{workdir.name}/bench.sqlite")
    script = Path(workdir.name) / "miss.lua"
    script.write_text(MISS_SCRIPT)

    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    base_env = {**os.environ, "DATABASE_URL": url, "SEED_ON_STARTUP": "off", "LOG_LEVEL": "WARNING"}
    base_env["RATELIMIT_ENABLED"] = "off"  # measure the cache, not the limiter's 429s
    base_env |= {"CACHE_TTL": "1800", "CACHE_VERSION_FILE": f"{workdir.name}/cache-version"}
    rows = []
    redis_env = {"REDIS_URL": args.redis_url, "CACHE_KEY_PREFIX": prefix}
    backends = (
        ("redis", redis_env),
        ("redis, no near cache", redis_env | {"CACHE_NEAR_TTL": "0"}),
        ("in-process", {}),
    )
    for label, extra in backends:
        env = {k: v for k, v in base_env.items() if k != "REDIS_URL"} | extra
        port = free_port()
        server = serve(env, port, args.workers, args.threads)
        base = f"http://127.0.0.1:{port}"
        try:
            # Interleaved rounds, median of each: this machine's noise is larger than the effect.
            runs: dict[str, list[WrkResult]] = {"health": [], "hit": [], "miss": []}
            for _ in range(args.rounds):
                runs["health"].append(wrk(f"{base}/health", args.seconds, args.connections))
                runs["hit"].append(wrk(f"{base}/api/v1/dashboard?id=all", args.seconds, args.connections))
                runs["miss"].append(wrk(f"{base}/", args.seconds, args.connections, str(script)))
            health, hit, miss = (median_run(results) for results in runs.values())
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows.append((label, health, hit, miss))

    client = redis.Redis.from_url(args.redis_url)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)

    kind = f"gthread x{args.threads}" if args.threads > 1 else "sync"
    print(f"gunicorn {args.workers} {kind} workers, wrk -t2 -c{args.connections} -d{args.seconds}s on 127.0.0.1,")
    print(f"median of {args.rounds} interleaved rounds;")
    print(f"{os.cpu_count()} CPUs shared by wrk, gunicorn and Redis; database {url.split(':')[0]}")
    print(f"{'cache':<21} {'GET /health':>22} {'dashboard hit':>22} {'dashboard miss':>22}  hit/health")
    for label, health, hit, miss in rows:
        cells = [result.cell() for result in (health, hit, miss)]
        print(f"{label:<21} {cells[0]:>22} {cells[1]:>22} {cells[2]:>22}  {hit.rate / health.rate:.0%}")
    workdir.cleanup()


if __name__ == "__main__":
    main()
