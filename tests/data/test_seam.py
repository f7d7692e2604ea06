"""Across the CSV/exchange seam: after `flask ingest --update` the series stay in one unit.

The bundled CSVs end on 2021-07-06; recorded Binance klines (tests/support/fake_binance.py) continue BTC
and ETH to 2021-07-20. Expected values come from the CSVs (tests/support/truth.py) and the klines
themselves, never from the app.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fake_binance import SEAM_KLINES
from tests.support.services import BACKENDS, new_database_url
from tests.support.truth import CsvTruth
from utilities.exchange_client import fetch_daily, typical_price, validate_candle

LAST_CSV_DAY = date(2021, 7, 6)
POST_SEAM = date(2021, 7, 20)
COINS = {"BTC": "BTCUSDT", "ETH": "ETHUSDT"}


@pytest.fixture(params=BACKENDS)
def seam_app(request, tmp_path, fake_binance):
    """The bundled CSVs, then `flask ingest --update --until 2021-07-20` (cache on)."""
    url = new_database_url(request, request.param, tmp_path)
    app = make_app(url, CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "cache-version"))
    migrate_and_seed(app)
    fake_binance.klines.update(SEAM_KLINES)
    client = app.test_client()
    app.before = {
        symbol: client.get(f"/api/v1/dashboard?id={symbol}&date={LAST_CSV_DAY}").get_json()[0] for symbol in COINS
    }
    result = app.test_cli_runner().invoke(args=["ingest", "--update", "--until", POST_SEAM.isoformat()])
    assert result.exit_code == 0, result.output
    assert "BTC/USDT: stored 14 days (2021-07-07 .. 2021-07-20)" in result.output
    # USDT is no longer skipped as "the quote asset": the source plan prices it against USD.
    assert "USDT: skipped" not in result.output and "bitstamp USDT/USD" in result.output
    yield app
    with app.app_context():
        db.engine.dispose()


def supply_on_last_csv_day(truth: CsvTruth, symbol: str) -> float:
    row = truth.coins[symbol].days[LAST_CSV_DAY]
    return row["Marketcap"] / row["Close"]


@pytest.mark.parametrize("symbol", sorted(COINS))
def test_post_seam_day_is_in_dollars_with_estimated_market_cap(seam_app, truth, symbol):
    client = seam_app.test_client()
    response = client.get(f"/api/v1/dashboard?id={symbol}&date={POST_SEAM}")
    assert response.status_code == 200
    (row,) = response.get_json()
    candle = SEAM_KLINES[COINS[symbol]][POST_SEAM]
    high, low, close, coins = float(candle[2]), float(candle[3]), float(candle[4]), float(candle[5])
    # Dollars: the exchange's quote volume, between coins x low and coins x high (not the coin count).
    assert coins * low <= row["volume_24h"] <= coins * high
    assert row["volume_24h"] == float(candle[7])
    assert row["market_cap"] == pytest.approx(close * supply_on_last_csv_day(truth, symbol), rel=1e-12)
    assert row["name"] == seam_app.before[symbol]["name"] == truth.coins[symbol].name
    month_ago = truth.coins[symbol].days[POST_SEAM - timedelta(days=30)]["Close"]  # a CSV day
    assert row["change_1m"] == pytest.approx((close - month_ago) / month_ago * 100, rel=1e-12)
    assert row["price"] == close


def test_ordering_by_market_cap_and_volume_after_the_seam(seam_app):
    client = seam_app.test_client()
    by_cap = client.get(f"/api/v1/dashboard?id=all&date={POST_SEAM}&order_by=market_cap").get_json()
    assert [row["symbol"] for row in by_cap] == ["BTC", "ETH"]  # both have a market cap now
    by_volume = client.get(f"/api/v1/dashboard?id=all&date={POST_SEAM}&order_by=24h-volume").get_json()
    volumes = {symbol: float(SEAM_KLINES[market][POST_SEAM][7]) for symbol, market in COINS.items()}
    assert [row["symbol"] for row in by_volume] == sorted(volumes, key=volumes.get, reverse=True)


def test_history_shows_lineage_across_the_seam(seam_app):
    client = seam_app.test_client()
    candles = client.get("/api/v1/currencies/btc/history?start=2021-07-05&end=2021-07-08").get_json()
    assert [(c["period_start"], c["source"], c["market_cap_estimated"], c["volume_estimated"]) for c in candles] == [
        ("2021-07-05", "csv", False, False),
        ("2021-07-06", "csv", False, False),
        ("2021-07-07", "binance", True, False),
        ("2021-07-08", "binance", True, False),
    ]
    (week,) = client.get("/api/v1/currencies/btc/history?start=2021-07-05&end=2021-07-11&interval=1w").get_json()
    assert (week["source"], week["market_cap_estimated"], week["days"]) == ("mixed", True, 7)
    catalogue = {row["symbol"]: row for row in client.get("/api/v1/currencies").get_json()}
    assert catalogue["BTC"]["latest_market_cap_estimated"] is True and catalogue["BTC"]["last_day"] == "2021-07-20"
    assert catalogue["AAVE"]["latest_market_cap_estimated"] is False
    assert catalogue["BTC"]["supply_as_of"] == LAST_CSV_DAY.isoformat()


@pytest.mark.parametrize(
    ("path", "through"),
    [
        ("/api/v1/dashboard?id=all", "2021-07-20"),
        ("/api/v1/dashboard?id=btc&date=2021-07-01", "2021-07-20"),
        ("/api/v1/dashboard?id=aave&date=2021-07-06", "2021-07-06"),  # about one coin: that coin's latest day
        ("/api/v1/dashboard?id=aave", "2021-07-06"),  # 204: no AAVE on the latest day, 2021-07-20
        ("/api/v1/search?name=bitcoin", "2021-07-20"),
        ("/api/v1/search?name=aave", "2021-07-06"),
        ("/api/v1/currencies", "2021-07-20"),
        ("/api/v1/currencies?q=zzzz", "2021-07-20"),  # no match: still says how fresh the data is
        ("/api/v1/currencies/eth", "2021-07-20"),
        ("/api/v1/currencies/doge", "2021-07-06"),
        ("/api/v1/currencies/btc/history", "2021-07-20"),
        ("/api/v1/currencies/btc/history?start=2021-01-01&end=2021-01-31&format=csv", "2021-07-20"),
        ("/api/v1/currencies/xmr/history", "2021-07-06"),
        ("/", "2021-07-20"),
    ],
)
def test_every_data_response_says_how_fresh_it_is(seam_app, path, through):
    client = seam_app.test_client()
    first = client.get(path)
    assert first.status_code == (204 if path.endswith("id=aave") else 200), first.get_data(as_text=True)
    assert first.headers["X-Data-Through"] == through
    if path != "/":
        again = client.get(path)  # a cache hit replays the header
        assert again.headers["ETag"] == first.headers["ETag"] and again.headers["X-Data-Through"] == through


def test_reingesting_the_same_days_converges(seam_app):
    def rows():
        with seam_app.app_context(), db.engine.connect() as conn:
            return conn.execute(sa.text("SELECT * FROM record ORDER BY currency_id, date")).all()

    before = rows()
    runner = seam_app.test_cli_runner()
    args = ["ingest", "--symbols", "BTC/USDT,ETH/USDT", "--since", "2021-07-07", "--until", "2021-07-20"]
    assert runner.invoke(args=args).exit_code == 0
    assert rows() == before


def test_a_quote_that_is_not_usd_is_refused(seam_app):
    runner = seam_app.test_cli_runner()
    result = runner.invoke(args=["ingest", "--symbols", "BTC/EUR", "--since", "2021-07-21", "--until", "2021-07-22"])
    assert result.exit_code == 1
    assert "quote asset EUR is not USD-equivalent (USD_QUOTES=USD,USDT,USDC,BUSD)" in result.output


def test_page_and_ready_report_freshness(seam_app):
    client = seam_app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert "data through 2021-07-20" in page and 'id="stale-notice"' in page  # years old
    fresh = make_app(seam_app.config["SQLALCHEMY_DATABASE_URI"], STALE_AFTER_DAYS=100_000)
    assert 'id="stale-notice"' not in fresh.test_client().get("/").get_data(as_text=True)
    ready = client.get("/ready").get_json()
    from datetime import UTC, datetime

    assert ready["data_through"] == "2021-07-20"
    assert ready["data_age_days"] == (datetime.now(UTC).date() - POST_SEAM).days


class NoQuoteVolumeExchange:
    """An exchange whose unified OHLCV carries base volume only (most of ccxt's exchanges)."""

    id = "kraken"

    def fetch_ohlcv(self, market, timeframe, since, limit):
        return [[1625875200000, 100.0, 120.0, 90.0, 110.0, 5.0]]


def test_without_a_quote_volume_the_base_volume_is_converted_and_marked():
    fetched, estimated = fetch_daily(NoQuoteVolumeExchange(), "X/USD", 0, 10)
    assert estimated is True
    candle, quote_volume = fetched[0]
    row = validate_candle(candle, quote_volume)
    assert row[5] == 5.0 * (120.0 + 90.0 + 110.0) / 3 == 5.0 * typical_price(120.0, 90.0, 110.0)


def test_a_quote_volume_outside_the_candle_is_rejected():
    candle = [1625875200000, "100", "120", "90", "110", "5"]
    assert validate_candle(candle, "600")[5] == 600.0  # 5 coins at 120
    assert "outside base volume" in validate_candle(candle, "5")  # the coin count passed off as dollars
    assert "outside base volume" in validate_candle(candle, "601")
