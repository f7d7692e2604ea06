"""BTC across the CSV/exchange seam: volume, market cap and ordering after `flask ingest --update`.

Seeds a temporary SQLite database from the bundled CSVs, serves the recorded Binance klines of
tests/support/fake_binance.py (BTC and ETH, 2021-07-07 .. 2021-07-20) through `responses` (no network),
runs `flask ingest --update --until 2021-07-20` and prints what the API then serves. Run it from a
checkout's root (`.venv/bin/python bench/seam.py`) to compare two versions of the code.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path.cwd()))

import responses
from flask_migrate import upgrade

from api import create_app
from api.extensions import db
from config import BUNDLED_CSV
from tests.support.fake_binance import EXCHANGE_INFO, SEAM_KLINES, FakeBinance
from tests.support.settings import TestConfig
from utilities.seeding import seed_from_csv


def main() -> None:
    folder = Path(tempfile.mkdtemp())
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'seam.sqlite'}")
    with app.app_context():
        upgrade()
        seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)
    fake = FakeBinance()
    fake.klines.update(SEAM_KLINES)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(r"https://api\.binance\.com/api/v3/exchangeInfo.*"), json=EXCHANGE_INFO)
        mock.add_callback(responses.GET, re.compile(r"https://api\.binance\.com/api/v3/klines.*"), fake.serve_klines)
        app.test_cli_runner().invoke(args=["ingest", "--update", "--until", "2021-07-20"])
    client = app.test_client()

    def btc(day: str) -> dict:
        row = client.get(f"/api/v1/dashboard?id=btc&date={day}").get_json()[0]
        return {key: row[key] for key in ("name", "price", "volume_24h", "market_cap", "change_1m")}

    def order(by: str) -> list:
        rows = client.get(f"/api/v1/dashboard?id=all&date=2021-07-20&order_by={by}").get_json()
        return [(row["symbol"], row[by if by == "market_cap" else "volume_24h"]) for row in rows]

    july = client.get("/api/v1/currencies/btc/history?start=2021-07-01&end=2021-07-31&interval=1M").get_json()[0]
    print(
        json.dumps(
            {
                "BTC 2021-07-06 (last CSV day)": btc("2021-07-06"),
                "BTC 2021-07-20 (ingested)": btc("2021-07-20"),
                "order_by=market_cap on 2021-07-20": order("market_cap"),
                "order_by=24h-volume on 2021-07-20": order("24h-volume"),
                "BTC July 2021 monthly candle volume (sum of days)": july["volume"],
                "catalogue first 3 by latest market cap": [
                    row["symbol"] for row in client.get("/api/v1/currencies?per_page=3").get_json()
                ],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
