"""Core benchmark: each fixed cost of issue 17 next to its floor, measured in one run.

Usage: `python bench/core.py [--database-url URL] [--repeat N]`. Without a URL it uses a
temporary SQLite file; pass a PostgreSQL URL (an empty, scratch database: its tables are
dropped and recreated) to measure there. In-process requests through the Flask test client,
the response cache off, as production runs otherwise: rate limits on (100,000 per second:
the moving window then holds about a second of requests, not a minute's thousands), one
access-log line per request formatted as JSON (written to /dev/null) and Prometheus metrics. Floors, in the same run:

- `/health`: a bare Flask app whose one view returns `jsonify`;
- dashboard `id=all` minus `/health`: the minimal query on the bare driver (the day known, each
  coin's records of D, D-1, D-7 and D-30 by four primary-key probes), the changes computed in
  Python, the rows made dicts of the endpoint's fields and encoded with `json.dumps` (the
  endpoint's own SQL on the driver is printed too, as a second line);
- BTC 10-year daily history: the same candles by raw SQL, dicts, `json.dumps`;
- search: the reference implementation (krispyto-server) measured 1.0-1.1 ms on this machine.

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask import Flask, jsonify
from flask_migrate import downgrade, upgrade

from api import create_app
from api.extensions import db
from api.observability import LogLineFormatter
from api.sql.dashboard import _dashboard_statement
from api.sql.history import _history_statement
from api.v1.history import CANDLE_FIELDS  # the served candle's fields: the floor's dicts match them
from config import BUNDLED_CSV, normalise_database_url
from tests.support.settings import TestConfig
from utilities.seeding import seed_from_csv

TEN_YEARS = "/api/v1/currencies/btc/history?start=2011-07-06&end=2021-07-06&interval="
DASHBOARD_FIELDS = (
    "name",
    "symbol",
    "date",
    "price",
    "change_24h",
    "change_7d",
    "change_1m",
    "volume_24h",
    "market_cap",
)
SEARCH_REFERENCE_MS = (1.0, 1.1)
# The dashboard's floor: no default-day rule, no ranking, paging or counting in SQL; just the reads.
MINIMAL_DASHBOARD_SQL = """SELECT c.name, c.symbol, d.date, d.close, d.volume, d.marketcap,
r1.close, r7.close, r30.close
FROM record d JOIN currency c ON c.id = d.currency_id
LEFT JOIN record r1 ON r1.currency_id = d.currency_id AND r1.date = {p}
LEFT JOIN record r7 ON r7.currency_id = d.currency_id AND r7.date = {p}
LEFT JOIN record r30 ON r30.currency_id = d.currency_id AND r30.date = {p}
WHERE d.date = {p}"""


def change(close: float, earlier: float | None) -> float | None:
    return (close - earlier) / earlier * 100 if earlier else None


def median_ms(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `action` in milliseconds, after a few warm-up calls."""
    for _ in range(3):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def on_driver(statement: sa.Select, values: dict) -> Callable[[], list[tuple]]:
    """`statement` compiled once, then run on a pooled DBAPI connection: no SQLAlchemy per row."""
    compiled = statement.compile(dialect=db.engine.dialect)
    binds = compiled.construct_params(values)
    if compiled.positiontup:
        binds = tuple(binds[name] for name in compiled.positiontup)
    sql = str(compiled)

    def run() -> list[tuple]:
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, binds)
            rows = cursor.fetchall()
            cursor.close()
            return rows
        finally:
            connection.close()

    return run


def iso(day: object) -> str:
    """SQLite hands dates over as text, psycopg2 as `date`."""
    return day if isinstance(day, str) else day.isoformat()


def bare_flask() -> Flask:
    """The /health floor: Flask and nothing else."""
    app = Flask("bare")

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", help="scratch database (default: a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    workdir = tempfile.TemporaryDirectory()
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir.name}/bench.sqlite")

    # Production's request path: the access log formats a JSON line with the formatter
    # `configure_logging` installs (into /dev/null instead of stderr), limits are checked.
    sink = open(os.devnull, "w")  # noqa: SIM115 (open for the whole run)
    handler = logging.StreamHandler(sink)
    handler.setFormatter(LogLineFormatter("{asctime}{levelname}{name}{message}", style="{"))
    logging.getLogger().addHandler(handler)
    settings = {"RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "100000 per second", "LOG_LEVEL": "INFO"}
    # Limits count where production's embedded default counts them: the file its processes share.
    settings["SHARED_STATE_FILE"] = f"{workdir.name}/shared-state.sqlite"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **settings)
    client = app.test_client()
    bare = bare_flask().test_client()
    # The same app with the response cache on (in-process): a hit is mostly the fixed cost.
    cache = {"CACHE_TTL": 600, "CACHE_VERSION_FILE": f"{workdir.name}/cache-version"}
    cached = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **settings, **cache).test_client()
    unlimited = create_app(
        TestConfig, SQLALCHEMY_DATABASE_URI=url, **(settings | {"RATELIMIT_ENABLED": False}), **cache
    ).test_client()
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        upgrade()
        seed = seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)
        reseed = seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)

        dashboard_sql = on_driver(
            _dashboard_statement("crypto", True, False), {"day": None, "first_rank": 1, "last_rank": 100}
        )

        def dashboard_own_sql() -> bytes:
            rows = [
                dict(zip(DASHBOARD_FIELDS, (name, symbol, iso(day), *rest), strict=True))
                for name, symbol, day, *rest, _rank, _total, _through in dashboard_sql()
            ]
            return json.dumps(rows, separators=(",", ":")).encode()

        postgres = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as connection:
            latest = connection.execute(sa.text("SELECT max(date) FROM record")).scalar()
        latest = date.fromisoformat(latest) if isinstance(latest, str) else latest
        days = [latest - timedelta(days=back) for back in (1, 7, 30, 0)]
        minimal_sql = MINIMAL_DASHBOARD_SQL.format(p="%s" if postgres else "?")
        minimal_binds = tuple(days if postgres else (day.isoformat() for day in days))

        def dashboard_floor() -> bytes:
            connection = db.engine.raw_connection()
            try:
                cursor = connection.cursor()
                cursor.execute(minimal_sql, minimal_binds)
                fetched = cursor.fetchall()
                cursor.close()
            finally:
                connection.close()
            rows = [
                dict(
                    zip(
                        DASHBOARD_FIELDS,
                        (name, symbol, iso(day), close, change(close, c1), change(close, c7), change(close, c30), v, m),
                        strict=True,
                    )
                )
                for name, symbol, day, close, v, m, c1, c7, c30 in fetched
            ]
            return json.dumps(rows, separators=(",", ":")).encode()

        served = sorted(json.loads(client.get("/api/v1/dashboard?id=all").data), key=lambda row: row["symbol"])
        floor_rows = sorted(json.loads(dashboard_floor()), key=lambda row: row["symbol"])
        assert served == floor_rows, "the floor must serve the same rows"

        start, end = "2011-07-06", "2021-07-06"  # SQLite binds ISO text, psycopg2 a `date`
        if db.engine.dialect.name == "postgresql":
            start, end = date.fromisoformat(start), date.fromisoformat(end)
        history_sql = on_driver(_history_statement("1d", True, True), {"symbol": "BTC", "start": start, "end": end})

        def history_floor() -> bytes:
            candles = [
                dict(zip(CANDLE_FIELDS, (iso(period), *rest), strict=True))
                # The statement ends with the coin's latest day and id; the flags stay as the driver gives them.
                for period, *rest, _through, _id in history_sql()
                if period is not None
            ]
            return json.dumps(candles, separators=(",", ":")).encode()

        candles = len(json.loads(client.get(TEN_YEARS + "1d").data))
        assert candles == len(json.loads(history_floor())), "the floor must serve the same candles"

        timings = {
            "bare": lambda: bare.get("/health"),
            "health": lambda: client.get("/health"),
            "dashboard": lambda: client.get("/api/v1/dashboard?id=all"),
            "dashboard floor": dashboard_floor,
            "dashboard own sql": dashboard_own_sql,
            "history": lambda: client.get(TEN_YEARS + "1d"),
            "history floor": history_floor,
            "search": lambda: client.get("/api/v1/search?name=bitcoin"),
            "dashboard list": lambda: client.get("/api/v1/dashboard?id=btc,eth,ada"),
            "weekly": lambda: client.get(TEN_YEARS + "1w"),
            "csv": lambda: client.get(TEN_YEARS + "1d", headers={"Accept": "text/csv"}),
            "catalogue": lambda: client.get("/api/v1/currencies"),
            "cached": lambda: cached.get("/api/v1/dashboard?id=all"),
            "cached unlimited": lambda: unlimited.get("/api/v1/dashboard?id=all"),
        }
        # Interleaved rounds, so a burst of load from a neighbour hits every case alike.
        samples: dict[str, list[float]] = {name: [] for name in timings}
        rounds = 5
        for _ in range(rounds):
            for name, action in timings.items():
                samples[name].append(median_ms(action, max(args.repeat // rounds, 5)))
        # The least disturbed round: on a shared host a neighbour's burst only ever adds time.
        ms = {name: min(values) for name, values in samples.items()}
        db.engine.dispose()

    machine = f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores"
    print(f"machine: {machine}, Python {platform.python_version()}")
    print(f"database: {sa.make_url(url).get_backend_name()}")
    print(f"seed bundled CSVs (37,082 rows): {seed.seconds:.3f} s; idempotent re-run: {reseed.seconds:.3f} s")
    print(f"{args.repeat} in-process requests in 5 rounds, the lowest round median (test client, no cache,")
    print("limits on, access log on)\n")
    dashboard_net = ms["dashboard"] - ms["health"]
    low, high = SEARCH_REFERENCE_MS
    rows = [
        ("`GET /health`", ms["health"], "bare Flask `jsonify`", ms["bare"], "<= 1.5x"),
        (
            "dashboard `id=all` minus `/health`",
            dashboard_net,
            "minimal query (4 PK probes a coin) + `json.dumps`",
            ms["dashboard floor"],
            "<= 3x",
        ),
        (
            f"BTC history, 10 years daily ({candles:,} candles)",
            ms["history"],
            "raw SQL + `json.dumps` of dicts",
            ms["history floor"],
            "<= 0.75x",
        ),
    ]
    print("| what | project | floor, same run | ratio | target |")
    print("|---|---|---|---|---|")
    for what, project, floor, floor_ms, target in rows:
        print(f"| {what} | {project:.3f} ms | {floor}, {floor_ms:.3f} ms | {project / floor_ms:.2f}x | {target} |")
    search = ms["search"]
    reference = f"reference (krispyto-server), {low}-{high} ms"
    ratio = f"{search / high:.2f}-{search / low:.2f}x"
    print(f"| `GET /api/v1/search?name=bitcoin` | {search:.3f} ms | {reference} | {ratio} | <= 1x |")
    own = ms["dashboard own sql"]
    print(f"| (the same against its own SQL + `json.dumps`, {own:.3f} ms) | | | {dashboard_net / own:.2f}x | |")
    print("\nother endpoints, same run:")
    print(f"  GET /api/v1/dashboard?id=btc,eth,ada     {ms['dashboard list']:8.3f} ms")
    print(f"  GET /api/v1/dashboard?id=all             {ms['dashboard']:8.3f} ms")
    print(f"  GET /api/v1/currencies                   {ms['catalogue']:8.3f} ms")
    print(f"  GET /api/v1/dashboard?id=all, cache hit  {ms['cached']:8.3f} ms")
    print(f"    the same, rate limits off              {ms['cached unlimited']:8.3f} ms")
    print(f"  BTC history, 10 years, 1w                {ms['weekly']:8.3f} ms")
    print(f"  BTC history, 10 years, 1d, as CSV        {ms['csv']:8.3f} ms")
    workdir.cleanup()


if __name__ == "__main__":
    main()
