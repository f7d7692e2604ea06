"""Core benchmark: seeding time, and the uncached dashboard against a trivial endpoint and raw SQL.

Usage: `python bench/core.py [--database-url URL] [--repeat N]`. Without a URL it uses a
temporary SQLite file; pass a PostgreSQL URL (an empty, scratch database: its tables are
dropped and recreated) to measure there. Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from api import create_app
from api.extensions import db
from api.queries import _dashboard_statement
from config import BUNDLED_CSV, TestConfig, normalise_database_url
from utilities.inspector import seed_from_csv

# The work of dashboard?id=all (latest day, changes, sort, total), written by hand as one query
# with plain joins: a yardstick for the endpoint besides its own SQL run straight on the driver.
HAND_WRITTEN_SQL = """
SELECT c.name, c.symbol, r.close, r.volume, r.marketcap,
       (r.close - p1.close) / p1.close * 100, (r.close - p7.close) / p7.close * 100,
       (r.close - p30.close) / p30.close * 100, count(*) OVER ()
FROM record r JOIN currency c ON c.id = r.currency_id
LEFT JOIN record p1 ON p1.currency_id = r.currency_id AND p1.date = :d1
LEFT JOIN record p7 ON p7.currency_id = r.currency_id AND p7.date = :d7
LEFT JOIN record p30 ON p30.currency_id = r.currency_id AND p30.date = :d30
WHERE r.date = (SELECT max(date) FROM record)
ORDER BY lower(c.name) DESC, c.symbol
LIMIT 100
"""


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `action` in milliseconds, after a warm-up call."""
    action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="scratch database (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory()
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir.name}/bench.sqlite")

    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    client = app.test_client()
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        seed = seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)
        reseed = seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)

        dashboard = median_ms(lambda: client.get("/api/v1/dashboard?id=all"), args.repeat)
        dashboard_list = median_ms(lambda: client.get("/api/v1/dashboard?id=btc,eth,ada"), args.repeat)
        search = median_ms(lambda: client.get("/api/v1/search?name=bitcoin"), args.repeat)
        ten_years = "/api/v1/currencies/btc/history?start=2011-07-06&end=2021-07-06&interval="
        history_daily = median_ms(lambda: client.get(ten_years + "1d"), args.repeat)
        history_weekly = median_ms(lambda: client.get(ten_years + "1w"), args.repeat)
        catalogue = median_ms(lambda: client.get("/api/v1/currencies"), args.repeat)
        health = median_ms(lambda: client.get("/health"), args.repeat)
        params = {"d1": "2021-07-05", "d7": "2021-06-29", "d30": "2021-06-06"}

        def hand_written() -> None:
            with db.engine.connect() as conn:
                conn.execute(sa.text(HAND_WRITTEN_SQL), params).all()

        compiled = _dashboard_statement("crypto", True, False).compile(dialect=db.engine.dialect)
        binds = compiled.construct_params({"day": None, "first_rank": 1, "last_rank": 100})
        if compiled.positiontup:
            binds = tuple(binds[name] for name in compiled.positiontup)

        def own_sql_on_driver() -> None:
            connection = db.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(str(compiled), binds)
                cursor.fetchall()
                cursor.close()
            finally:
                connection.close()

        hand = median_ms(hand_written, args.repeat)
        raw = median_ms(own_sql_on_driver, args.repeat)
        db.engine.dispose()

    print(f"machine: {platform.machine()} {platform.processor() or ''}, Python {platform.python_version()}")
    print(f"database: {sa.make_url(url).get_backend_name()}")
    print(f"seed bundled CSVs (37,082 rows): {seed.seconds:.3f} s; idempotent re-run: {reseed.seconds:.3f} s")
    print(f"median of {args.repeat} in-process requests (Flask test client, no cache):")
    print(f"  GET /health                          {health:8.3f} ms")
    print(f"  GET /api/v1/search?name=bitcoin      {search:8.3f} ms")
    print(f"  GET /api/v1/dashboard?id=btc,eth,ada {dashboard_list:8.3f} ms")
    print(f"  GET /api/v1/dashboard?id=all         {dashboard:8.3f} ms")
    print(f"  GET /api/v1/currencies               {catalogue:8.3f} ms")
    print(f"  BTC history, 10 years, 1d (2,991)    {history_daily:8.3f} ms")
    print(f"  BTC history, 10 years, 1w (428)      {history_weekly:8.3f} ms")
    print(f"  its SQL, run on the bare driver      {raw:8.3f} ms")
    print(f"  hand-written join SQL, same result   {hand:8.3f} ms")
    print(f"  dashboard / its raw SQL: {dashboard / raw:.2f}x (target <= 3x)")
    print(f"  dashboard / hand-written SQL: {dashboard / hand:.2f}x; dashboard / health: {dashboard / health:.2f}x")
    workdir.cleanup()


if __name__ == "__main__":
    main()
