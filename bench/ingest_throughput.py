"""Rows per second through the ingestion upsert path, and the web worker's memory with/without ccxt.

Usage: `python bench/ingest_throughput.py [--database-url URL] [--rows 100000]`. Without a URL
it uses a temporary SQLite file; pass an empty scratch PostgreSQL database to measure there.
Measured with 1,000 rows per transaction (one exchange page, as `flask ingest` commits) and
10,000 (the store path's own capacity). Prints numbers only.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from api import create_app  # noqa: E402
from api.extensions import db  # noqa: E402
from config import normalise_database_url  # noqa: E402
from tests.support.settings import TestConfig  # noqa: E402
from utilities.bulk_store import store_records  # noqa: E402
from utilities.schema import currency_table, record_table  # noqa: E402

MEMORY_PROBE = """
import resource, sys
sys.path.insert(0, {root!r})
from api import create_app
from tests.support.settings import TestConfig
app = create_app(TestConfig)
app.test_client().get("/health")
if {with_ccxt}:
    import ccxt
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def synthetic(coins: int, days: int) -> dict[str, list[tuple]]:
    first = date(2000, 1, 1)
    return {
        f"SYN{c:04d}": [
            (first + timedelta(days=d), 1.0 + d, 2.0 + d, 0.5 + d, 1.5 + d, 1000.0 + c, None) for d in range(days)
        ]
        for c in range(coins)
    }


def empty_tables(engine: sa.Engine, currency: sa.Table, record: sa.Table) -> None:
    """TRUNCATE on PostgreSQL, so dead rows of an earlier run do not slow the next one."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("TRUNCATE record, currency")
        else:
            conn.execute(sa.delete(record))
            conn.execute(sa.delete(currency))


def upsert_rate(url: str, rows: int, replace_existing: bool, page_rows: int = 1000) -> float:
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    coins = max(rows // 10_000, 1)
    data = synthetic(coins, rows // coins)
    with app.app_context():
        upgrade()
        engine = db.engine
        currency, record = currency_table, record_table
        empty_tables(engine, currency, record)
        with engine.begin() as conn:
            ids = {}
            for symbol in data:
                ids[symbol] = conn.execute(
                    sa.insert(currency).values(name=symbol, symbol=symbol).returning(currency.c.id)
                ).scalar_one()
        passes = 2 if replace_existing else 1
        for _ in range(passes):
            started = time.perf_counter()
            for symbol, candles in data.items():
                for page in range(0, len(candles), page_rows):
                    with engine.begin() as conn:
                        store_records(
                            conn, ids[symbol], candles[page : page + page_rows], replace=True, source="binance"
                        )
            elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(record)).scalar()
        empty_tables(engine, currency, record)
        engine.dispose()
    assert stored == coins * (rows // coins), stored
    return stored / elapsed


def max_rss_mb(with_ccxt: bool) -> float:
    code = MEMORY_PROBE.format(root=str(ROOT), with_ccxt=with_ccxt)
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return int(output.strip().splitlines()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory()
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir.name}/ingest.sqlite")
    print(f"database: {sa.make_url(url).get_backend_name()}; {args.rows:,} candles of 10 coins")
    for page_rows in (1000, 10_000):
        new_rows = upsert_rate(url, args.rows, replace_existing=False, page_rows=page_rows)
        replaced = upsert_rate(url, args.rows, replace_existing=True, page_rows=page_rows)
        print(f"  {page_rows:>6,} rows per transaction: new {new_rows:9,.0f} rows/s, replacing {replaced:9,.0f} rows/s")
    print(f"web worker max RSS: {max_rss_mb(False):.1f} MB without ccxt, {max_rss_mb(True):.1f} MB with ccxt imported")
    workdir.cleanup()


if __name__ == "__main__":
    main()
