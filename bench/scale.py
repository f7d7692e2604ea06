"""Scale benchmark: synthetic N coins x D days in PostgreSQL, then the read endpoints' cost.

Usage: `python bench/scale.py --database-url postgresql://postgres@127.0.0.1/scratch
[--sizes 500x365,500x3650,5000x365,5000x3650] [--repeat 20] [--reuse]`. The database is emptied and
refilled (COPY, deterministic seed) for each size; `--reuse` keeps data that already has the size
(loading 5,000 x 3,650 takes about 20 minutes on a busy 2-core host). Prints a table, the plan of
the uncached `dashboard?id=all` (EXPLAIN ANALYZE, BUFFERS) at each size, and writes bench/RESULTS.md.
The cost of the uncached dashboard should follow N (coins), not D (days of history).
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from harness import machine  # noqa: E402
from sqlalchemy.schema import CreateIndex  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from api.models import Record  # noqa: E402
from api.sql.dashboard import _dashboard_statement  # noqa: E402
from config import normalise_database_url  # noqa: E402
from tests.support.settings import TestConfig  # noqa: E402

LAST_DAY = date(2021, 7, 6)


def fill(engine: sa.Engine, coins: int, days: int, seed: int = 42) -> float:
    """Replace the data with `coins` x `days` random-walk candles; seconds taken."""
    started = time.perf_counter()
    rng = random.Random(seed)
    first = LAST_DAY - timedelta(days=days - 1)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("TRUNCATE record, currency RESTART IDENTITY CASCADE")
        names = io.StringIO("".join(f"Coin {c}\tC{c:05d}\n" for c in range(coins)))
        cursor.copy_expert("COPY currency (name, symbol) FROM STDIN", names)
        # Drop the secondary indexes while loading, then build them once (as a bulk load should).
        for index in Record.__table__.indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {index.name}")
        for start in range(0, coins, 250):
            buffer = io.StringIO()
            for c in range(start, min(start + 250, coins)):
                price = rng.uniform(0.01, 1000)
                for d in range(days):
                    price = max(price * (1 + rng.gauss(0, 0.03)), 1e-6)
                    high, low = price * 1.02, price * 0.98
                    day = (first + timedelta(days=d)).isoformat()
                    buffer.write(f"{c + 1}\t{day}\t{price}\t{high}\t{low}\t{price}\t{price * 1000}\t{price * 1e6}\n")
            buffer.seek(0)
            cursor.copy_expert(
                "COPY record (currency_id, date, open, high, low, close, volume, marketcap) FROM STDIN", buffer
            )
        for index in Record.__table__.indexes:
            cursor.execute(str(CreateIndex(index).compile(dialect=engine.dialect)))
        raw.commit()
        # What autovacuum does after a bulk load: statistics, and the visibility map that lets
        # the dashboard's index-only scans skip the table.
        raw.set_session(autocommit=True)
        cursor.execute("VACUUM ANALYZE record")
        cursor.execute("VACUUM ANALYZE currency")
    finally:
        raw.close()
    return time.perf_counter() - started


def loaded_size(engine: sa.Engine) -> tuple[int, int]:
    """(coins, records) stored now."""
    with engine.connect() as connection:
        coins = connection.execute(sa.text("SELECT count(*) FROM currency")).scalar()
        records = connection.execute(sa.text("SELECT count(*) FROM record")).scalar()
    return coins, records


def dashboard_plan(engine: sa.Engine) -> str:
    """EXPLAIN ANALYZE of the statement `dashboard?id=all` runs (default day, first page)."""
    compiled = _dashboard_statement("crypto", True, False).compile(dialect=engine.dialect)
    binds = compiled.construct_params({"day": None, "first_rank": 1, "last_rank": 100})
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), binds)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.close()


def median_ms(client, path: str, repeat: int) -> float:
    assert client.get(path).status_code in (200, 204), path
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--sizes", default="500x365,500x3650,5000x365,5000x3650")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep data that already has the size")
    args = parser.parse_args()
    url = normalise_database_url(args.database_url)
    uncached = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    cached = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, CACHE_TTL=600, CACHE_VERSION_FILE="/tmp/scale-v")
    with uncached.app_context():
        upgrade()
    rows = []
    for size in args.sizes.split(","):
        coins, days = (int(part) for part in size.split("x"))
        with uncached.app_context():
            reuse = args.reuse and loaded_size(db.engine) == (coins, coins * days)
            load_s = 0.0 if reuse else fill(db.engine, coins, days)
        cached.extensions["response_cache"].invalidate()
        client, warm = uncached.test_client(), cached.test_client()
        results = {
            "dashboard id=all": median_ms(client, "/api/v1/dashboard?id=all", args.repeat),
            "dashboard id=all, by 1m": median_ms(client, "/api/v1/dashboard?id=all&order_by=1m", args.repeat),
            "dashboard 3 symbols": median_ms(client, "/api/v1/dashboard?id=c00001,c00002,c00003", args.repeat),
            "dashboard cached": median_ms(warm, "/api/v1/dashboard?id=all", args.repeat),
            "search": median_ms(client, "/api/v1/search?name=coin%207", args.repeat),
            "catalogue page": median_ms(client, "/api/v1/currencies?per_page=100", args.repeat),
            "history 365 days": median_ms(client, "/api/v1/currencies/c00001/history", args.repeat),
        }
        rows.append((coins, days, coins * days, load_s, results))
        with uncached.app_context():
            print(f"plan of dashboard?id=all at {coins} x {days}:\n{dashboard_plan(db.engine)}\n")
        print(
            f"{coins} x {days}: loaded in {load_s:.0f} s; " + ", ".join(f"{k} {v:.1f} ms" for k, v in results.items())
        )
    names = list(rows[0][4])
    table = ["| coins | days | rows | load (s) | " + " | ".join(names) + " |", "|" + "---|" * (4 + len(names))]
    for coins, days, total, load_s, results in rows:
        cells = " | ".join(f"{results[name]:.1f}" for name in names)
        table.append(f"| {coins:,} | {days:,} | {total:,} | {load_s:.0f} | {cells} |")
    text = (
        "# Scale benchmark\n\n"
        f"`python bench/scale.py` on {machine()}.\n"
        f"Median of {args.repeat} in-process requests (Flask test client), in milliseconds; 'cached' is a"
        " cache hit (in-process backend), every other column is uncached.\n\n" + "\n".join(table) + "\n"
    )
    (ROOT / "bench" / "RESULTS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
