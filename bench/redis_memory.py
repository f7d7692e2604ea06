"""Redis memory after 1,000 distinct history requests, without and with the cache's entry bound.

Usage: `python bench/redis_memory.py [--requests 1000]`. Starts a redis-server of its own on a
free port per run; SQLite seeded from the bundled CSVs; BTC daily histories from 2018-01-01 + n
days to 2021-07-06 (52-226 KB each), through the app's Redis cache (near cache off).
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import date, timedelta

import redis
from harness import redis_server, seeded_database

from api import create_app
from tests.support.settings import TestConfig


def measure(url: str, bound_kb: int, requests: int, folder: str) -> str:
    with redis_server() as port:
        client = redis.Redis(port=port)
        app = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=url,
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            CACHE_TTL=1800,
            CACHE_NEAR_TTL=0,
            CACHE_MAX_ENTRY_KB=bound_kb,
            CACHE_VERSION_FILE=f"{folder}/v",
        )
        before = client.info("memory")["used_memory"]
        http = app.test_client()
        for n in range(requests):
            start = date(2018, 1, 1) + timedelta(days=n)
            assert http.get(f"/api/v1/currencies/BTC/history?start={start}&end=2021-07-06").status_code == 200
        after = client.info("memory")["used_memory"]
        return f"| {bound_kb:,} KiB | {before / 1e6:.1f} MB | {after / 1e6:.1f} MB | {client.dbsize():,} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = seeded_database(f"sqlite:///{folder.name}/memory.sqlite")
    print("| CACHE_MAX_ENTRY_KB | used_memory before | after | keys |")
    print("|---|---|---|---|")
    for bound_kb in (1_000_000, 128):
        print(measure(url, bound_kb, args.requests, folder.name), flush=True)
    folder.cleanup()


if __name__ == "__main__":
    main()
