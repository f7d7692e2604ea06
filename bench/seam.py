"""BTC, USDT and SOL across the CSV/exchange seam (2021-07-06 .. 07-08): market cap and volume
before and after `refresh_aggregates`, against the fake world of tests/support/fake_coingecko.py.

Seeds a temporary SQLite database from the bundled CSVs, then stores exchange candles after the
seam as ingestion does (close 0.1 % off the world's price, one market's volume = 1/29 of the
world's total, market cap = close x the supply carried from 2021-07-06, marked estimated): that
is "before". Then, for each scenario (the free plan asked in late 2026, when the seam is beyond
its 365 days; the free plan asked in July 2021; the Pro plan in late 2026), it runs
`refresh_aggregates` through the real client against the fake CoinGecko (`responses`, no
network) and prints what the history endpoint serves. Run from a checkout's root:
`.venv/bin/python bench/seam.py` (add `--json` for machine-readable rows). Each scenario also
shows its latest day, where a carried supply is furthest from the truth.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

import responses
import sqlalchemy as sa
from flask_migrate import upgrade

from api import create_app
from api.extensions import db
from config import BUNDLED_CSV
from tests.support.fake_coingecko import PRO_URL, PUBLIC_URL, WORLD, FakeCoinGecko
from tests.support.settings import TestConfig
from utilities.aggregates import refresh_aggregates
from utilities.bulk_store import store_records
from utilities.coingecko import CoinGeckoClient
from utilities.schema import currency_table, record_table
from utilities.seeding import seed_from_csv

COINS = {"BTC": ("bitcoin", "binance"), "USDT": ("tether", "kraken"), "SOL": ("solana", "binance")}
LAST_CSV_DAY = date(2021, 7, 6)
DAYS = [LAST_CSV_DAY + timedelta(days=n) for n in range(3)]  # 2021-07-06 .. 07-08
SCENARIOS = [
    ("free plan, today 2026-12-02", date(2026, 12, 2), PUBLIC_URL, None),
    ("free plan, today 2021-07-21", date(2021, 7, 21), PUBLIC_URL, None),
    ("Pro plan, today 2026-12-02", date(2026, 12, 2), PRO_URL, "pro-key"),
]


def fresh_app(folder: Path, name: str):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / name}.sqlite")
    with app.app_context():
        upgrade()
        seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)
    return app


def store_exchange_days(engine, end: date) -> None:
    """Exchange candles from the seam to `end`, as ingestion stores them (the 'before')."""
    with engine.begin() as conn:
        for symbol, (cg_id, exchange) in COINS.items():
            currency_id = conn.execute(
                sa.select(currency_table.c.id).where(currency_table.c.symbol == symbol)
            ).scalar_one()
            last = conn.execute(
                sa.select(record_table.c.marketcap, record_table.c.close).where(
                    record_table.c.currency_id == currency_id, record_table.c.date == LAST_CSV_DAY
                )
            ).one()
            supply = last.marketcap / last.close
            coin = WORLD[cg_id]
            rows = []
            for n in range((end - LAST_CSV_DAY).days):
                day = LAST_CSV_DAY + timedelta(days=n + 1)
                close = coin.price(day) * 1.001
                rows.append(
                    (day, close, close * 1.01, close * 0.99, close, coin.total_volume(day) / 29, close * supply)
                )
            store_records(conn, currency_id, rows, replace=True, source=exchange, marketcap_estimated=True)


def served(app, symbol: str, days: list[date]) -> dict[str, dict]:
    client = app.test_client()
    rows = client.get(f"/api/v1/currencies/{symbol}/history?start={days[0]}&end={days[-1]}").get_json()
    return {row["period_start"]: row for row in rows if row["period_start"] in {day.isoformat() for day in days}}


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    results = []
    for label, today, url, key in SCENARIOS:
        app = fresh_app(folder, re.sub(r"\W+", "-", label))
        with app.app_context():
            engine = db.engine
        store_exchange_days(engine, today - timedelta(days=1))
        days = [*DAYS, today - timedelta(days=1)]  # the seam, and the latest day
        before = {symbol: served(app, symbol, days) for symbol in COINS}
        fake = FakeCoinGecko(today=today)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            for base in (PUBLIC_URL, PRO_URL):
                mock.add_callback(responses.GET, re.compile(re.escape(base) + r"/.*"), fake.serve)
            report = refresh_aggregates(
                engine, list(COINS), DAYS[1], today - timedelta(days=1), today=today, client=CoinGeckoClient(url, key)
            )
        after = {symbol: served(app, symbol, days) for symbol in COINS}
        for symbol, (cg_id, _) in COINS.items():
            coin = WORLD[cg_id]
            for day in days:
                b, a = before[symbol][day.isoformat()], after[symbol][day.isoformat()]
                results.append(
                    {
                        "scenario": label,
                        "coin": symbol,
                        "day": day.isoformat(),
                        "volume_before": b["volume"],
                        "volume_before_scope": b["volume_scope"],
                        "volume_after": a["volume"],
                        "volume_after_scope": a["volume_scope"],
                        "world_volume": coin.total_volume(day) if day > LAST_CSV_DAY else None,
                        "cap_before": b["market_cap"],
                        "cap_after": a["market_cap"],
                        "cap_after_source": (a["marketcap_source"] or "none")
                        + ("*" if a["market_cap_estimated"] else ""),
                        "world_cap": coin.market_cap(day) if day > LAST_CSV_DAY else None,
                    }
                )
        print(f"{label}: {report.requests} CoinGecko requests; " + " | ".join(report.lines()[:2]), file=sys.stderr)
        with app.app_context():
            db.engine.dispose()
    if "--json" in sys.argv:
        print(json.dumps(results, indent=1))
        return
    print(_table(results))


def _billions(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e9:,.2f}"


def _error(value: float | None, truth: float | None) -> str:
    return "" if value is None or not truth else f" ({(value / truth - 1) * 100:+.1f} %)"


def _table(results: list[dict]) -> str:
    lines = [
        "| scenario | coin | day | volume before, $B (scope) | volume after, $B (scope) | world total volume, $B "
        "| market cap before, $B | market cap after, $B (source) | world market cap, $B |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['coin']} | {r['day']} "
            f"| {_billions(r['volume_before'])} ({r['volume_before_scope']}) "
            f"| {_billions(r['volume_after'])} ({r['volume_after_scope']})"
            f"{_error(r['volume_after'], r['world_volume'])} "
            f"| {_billions(r['world_volume'])} "
            f"| {_billions(r['cap_before'])}{_error(r['cap_before'], r['world_cap'])} "
            f"| {_billions(r['cap_after'])} ({r['cap_after_source']}){_error(r['cap_after'], r['world_cap'])} "
            f"| {_billions(r['world_cap'])} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
