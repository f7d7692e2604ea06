"""Redis growth after requests naming unknown symbols (issue 30, item 6).

Usage: `python bench/unknown_symbols.py [--requests 1000] [--symbols 1000]`. Starts a
redis-server of its own on a free port; SQLite seeded from the bundled CSVs; each request is
`GET /api/v1/dashboard?id=<--symbols made-up 7-character symbols>` (a 404) through the app's
Redis cache (near cache off). Prints keys and used_memory before and after.
"""

from __future__ import annotations

import argparse
import tempfile

import redis
from harness import redis_server, seeded_database

from api import create_app
from tests.support.settings import TestConfig


def measure(url: str, requests: int, symbols: int, folder: str) -> str:
    with redis_server() as port:
        client = redis.Redis(port=port)
        app = create_app(
            TestConfig,
            SQLALCHEMY_DATABASE_URI=url,
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            CACHE_TTL=1800,
            CACHE_NEAR_TTL=0,
            CACHE_VERSION_FILE=f"{folder}/v",
        )
        http = app.test_client()
        assert http.get("/api/v1/dashboard?id=btc").status_code == 200  # the version key, one entry
        keys, before = client.dbsize(), client.info("memory")["used_memory"]
        for n in range(requests):
            made_up = ",".join(f"Q{n:03d}{k:03d}"[:7] for k in range(symbols))
            assert http.get(f"/api/v1/dashboard?id={made_up}").status_code == 404
        after = client.info("memory")["used_memory"]
        memory = f"{before / 1e6:.2f} MB -> {after / 1e6:.2f} MB ({(after - before) / 1e6:+.2f} MB)"
        return f"| {requests:,} x {symbols:,} symbols | {keys:,} -> {client.dbsize():,} | {memory} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--symbols", type=int, default=1000)
    args = parser.parse_args()
    folder = tempfile.TemporaryDirectory()
    url = seeded_database(f"sqlite:///{folder.name}/unknown.sqlite")
    print("| requests | keys | used_memory |")
    print("|---|---|---|")
    print(measure(url, args.requests, args.symbols, folder.name), flush=True)
    folder.cleanup()


if __name__ == "__main__":
    main()
