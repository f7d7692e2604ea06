"""`/api/v3` driven by CoinGecko's own clients, unchanged: pycoingecko 3.2.0 and the official
coingecko-sdk, pointed at a live server (SQLite and PostgreSQL). Every answer is checked against
the bundled CSVs (tests/support/truth.py); ids are spelled out for the coins the source plan names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import coingecko_sdk
import pytest
from pycoingecko import CoinGeckoAPI
from werkzeug.serving import make_server

from tests.support.apps import make_app

LATEST = date(2021, 7, 6)
EPOCH = date(1970, 1, 1)
# CoinGecko's ids of a few bundled coins, written out (not read from data/sources.toml).
IDS = {"BTC": "bitcoin", "ETH": "ethereum", "CRO": "crypto-com-chain", "BNB": "binancecoin", "AAVE": "aave"}


def ms(day: date) -> int:
    return (day - EPOCH).days * 86_400_000


@pytest.fixture(scope="module")
def base_url(seeded_database_url) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, one per backend for the module."""
    server = make_server("127.0.0.1", 0, make_app(seeded_database_url), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/v3"
    server.shutdown()


@pytest.fixture
def pycg(base_url) -> CoinGeckoAPI:
    client = CoinGeckoAPI(retries=0)
    client.api_base_url = base_url + "/"  # the library's own attribute: its calls are '{base}ping'
    return client


@pytest.fixture
def sdk(base_url) -> coingecko_sdk.Coingecko:
    # The SDK refuses to send a request without a key header; this server reads none.
    return coingecko_sdk.Coingecko(base_url=base_url, demo_api_key="unused", max_retries=0)


def day_of(truth, symbol: str, day: date) -> dict[str, float]:
    return truth.coins[symbol].days[day]


def test_ping(pycg, sdk):
    assert pycg.ping() == {"gecko_says": "(V3) To the Moon!"}
    assert sdk.ping.get().gecko_says == "(V3) To the Moon!"


def test_supported_vs_currencies(pycg, sdk):
    assert pycg.get_supported_vs_currencies() == ["usd"]
    assert list(sdk.simple.supported_vs_currencies.get()) == ["usd"]


def test_coins_list_has_every_stored_coin_under_coingeckos_id(pycg, sdk, truth):
    listed = pycg.get_coins_list()
    assert len(listed) == len(truth.coins) == 23
    by_symbol = {coin["symbol"].upper(): coin for coin in listed}
    assert set(by_symbol) == set(truth.coins)
    for symbol, identifier in IDS.items():
        assert by_symbol[symbol] == {"id": identifier, "symbol": symbol.lower(), "name": truth.coins[symbol].name}
    assert len({coin["id"] for coin in listed}) == 23
    assert [(item.id, item.symbol, item.name) for item in sdk.coins.list.get()] == [
        (coin["id"], coin["symbol"], coin["name"]) for coin in listed
    ]


def test_simple_price_is_the_latest_stored_day(pycg, sdk, truth):
    answer = pycg.get_price(
        ids=["bitcoin", "ethereum", "no-such-coin"],
        vs_currencies="usd",
        include_market_cap=True,
        include_24hr_vol=True,
        include_24hr_change=True,
        include_last_updated_at=True,
    )
    assert set(answer) == {"bitcoin", "ethereum"}  # unknown ids are left out, as CoinGecko does
    for identifier, symbol in (("bitcoin", "BTC"), ("ethereum", "ETH")):
        record = day_of(truth, symbol, LATEST)
        assert answer[identifier] == {
            "usd": record["Close"],
            "usd_market_cap": record["Marketcap"],
            "usd_24h_vol": record["Volume"],
            "usd_24h_change": truth.change(symbol, LATEST, 1),
            "last_updated_at": int(datetime(2021, 7, 6, 23, 59, 59, tzinfo=UTC).timestamp()),
        }
    typed = sdk.simple.price.get(ids="crypto-com-chain", vs_currencies="USD", include_market_cap=True)
    assert typed["crypto-com-chain"].usd == day_of(truth, "CRO", LATEST)["Close"]
    assert typed["crypto-com-chain"].usd_market_cap == day_of(truth, "CRO", LATEST)["Marketcap"]


def test_coins_markets_ranks_by_market_cap_with_changes(pycg, sdk, truth):
    ranked = truth.dashboard(None, LATEST, "market_cap", desc=True)
    first = pycg.get_coins_markets(vs_currency="usd", per_page=5, page=1, price_change_percentage="24h,7d,30d,1y")
    second = pycg.get_coins_markets(vs_currency="usd", per_page=5, page=2)
    assert [item["symbol"].upper() for item in first + second] == [row["symbol"] for row in ranked[:10]]
    for item, row in zip(first, ranked, strict=False):
        assert item["current_price"] == row["price"]
        assert item["market_cap"] == row["market_cap"]
        assert item["total_volume"] == row["volume_24h"]
        assert item["price_change_percentage_24h"] == row["change_24h"]
        assert item["price_change_percentage_24h_in_currency"] == row["change_24h"]
        assert item["price_change_percentage_7d_in_currency"] == row["change_7d"]
        assert item["price_change_percentage_30d_in_currency"] == row["change_1m"]
        assert item["price_change_percentage_1y_in_currency"] is None  # not computed: said, not guessed
        assert item["last_updated"] == "2021-07-06T23:59:59.000Z"
    assert first[0]["id"] == "bitcoin"
    by_volume = sdk.coins.markets.get(vs_currency="usd", order="volume_asc", ids="bitcoin,ethereum,aave")
    expected = truth.dashboard(["BTC", "ETH", "AAVE"], LATEST, "24h-volume", desc=False)
    assert [(item.id, item.total_volume) for item in by_volume] == [
        (IDS[row["symbol"]], row["volume_24h"]) for row in expected
    ]
    assert by_volume[0].last_updated == datetime(2021, 7, 6, 23, 59, 59, tzinfo=UTC)


def test_coin_by_id_has_its_latest_day(pycg, sdk, truth):
    coin = pycg.get_coin_by_id("bitcoin")
    record = day_of(truth, "BTC", LATEST)
    assert (coin["id"], coin["symbol"], coin["name"]) == ("bitcoin", "btc", "Bitcoin")
    market = coin["market_data"]
    assert market["current_price"] == {"usd": record["Close"]}
    assert market["market_cap"] == {"usd": record["Marketcap"]}
    assert market["total_volume"] == {"usd": record["Volume"]}
    assert market["high_24h"] == {"usd": record["High"]} and market["low_24h"] == {"usd": record["Low"]}
    assert market["price_change_percentage_7d"] == truth.change("BTC", LATEST, 7)
    typed = sdk.coins.get_id("crypto-com-chain")
    assert typed.symbol == "cro" and typed.market_data.current_price == {"usd": day_of(truth, "CRO", LATEST)["Close"]}


def test_market_chart_of_30_days_ends_on_the_latest_stored_day(pycg, sdk, truth):
    chart = pycg.get_coin_market_chart_by_id("ethereum", vs_currency="usd", days=30)
    days = [LATEST - timedelta(days=back) for back in range(30, -1, -1)]
    coin = truth.coins["ETH"]
    assert chart["prices"] == [[ms(day), coin.days[day]["Close"]] for day in days]
    assert chart["market_caps"] == [[ms(day), coin.days[day]["Marketcap"]] for day in days]
    assert chart["total_volumes"] == [[ms(day), coin.days[day]["Volume"]] for day in days]
    typed = sdk.coins.market_chart.get("ethereum", vs_currency="usd", days="30")
    assert typed.prices == chart["prices"]


def test_market_chart_max_is_every_stored_day(pycg, truth):
    chart = pycg.get_coin_market_chart_by_id("aave", vs_currency="usd", days="max")
    coin = truth.coins["AAVE"]
    assert chart["prices"] == [[ms(day), coin.days[day]["Close"]] for day in sorted(coin.days)]


def test_market_chart_range_between_unix_times(pycg, sdk, truth):
    since = int(datetime(2021, 1, 1, tzinfo=UTC).timestamp())
    until = int(datetime(2021, 1, 10, 12, tzinfo=UTC).timestamp())
    chart = pycg.get_coin_market_chart_range_by_id(
        "bitcoin", vs_currency="usd", from_timestamp=since, to_timestamp=until
    )
    days = [date(2021, 1, 1) + timedelta(days=n) for n in range(10)]
    coin = truth.coins["BTC"]
    assert chart["prices"] == [[ms(day), coin.days[day]["Close"]] for day in days]
    assert chart["total_volumes"] == [[ms(day), coin.days[day]["Volume"]] for day in days]
    typed = sdk.coins.market_chart.get_range("bitcoin", vs_currency="usd", from_=str(since), to=str(until))
    assert typed.market_caps == [[ms(day), coin.days[day]["Marketcap"]] for day in days]


def test_ohlc_is_daily_candles(pycg, sdk, truth):
    candles = pycg.get_coin_ohlc_by_id("bitcoin", vs_currency="usd", days=7)
    coin = truth.coins["BTC"]
    days = [LATEST - timedelta(days=back) for back in range(6, -1, -1)]
    expected = [[ms(day), *(coin.days[day][field] for field in ("Open", "High", "Low", "Close"))] for day in days]
    assert candles == expected
    assert sdk.coins.ohlc.get("bitcoin", vs_currency="usd", days="7") == expected


def test_history_of_one_day(pycg, sdk, truth):
    snapshot = pycg.get_coin_history_by_id("bitcoin", date="01-01-2021")
    record = day_of(truth, "BTC", date(2021, 1, 1))
    assert snapshot["market_data"] == {
        "current_price": {"usd": record["Close"]},
        "market_cap": {"usd": record["Marketcap"]},
        "total_volume": {"usd": record["Volume"]},
    }
    typed = sdk.coins.history.get("aave", date="06-07-2021")
    assert typed.market_data.current_price == {"usd": day_of(truth, "AAVE", LATEST)["Close"]}
    before_listing = pycg.get_coin_history_by_id("aave", date="01-01-2015")
    assert before_listing["id"] == "aave" and "market_data" not in before_listing


def test_search_finds_names_and_symbols_containing_the_query(pycg, sdk, truth):
    found = pycg.search("bitcoin")
    expected = {symbol for symbol, coin in truth.coins.items() if "bitcoin" in coin.name.lower()}
    assert {coin["symbol"] for coin in found["coins"]} == expected == {"BTC", "WBTC"}
    assert found["coins"][0]["id"] == "bitcoin"  # the exact name first
    assert set(found) == {"coins", "exchanges", "icos", "categories", "nfts"}
    typed = sdk.search.get(query="cro")
    assert typed.coins[0].id == "crypto-com-chain" and typed.coins[0].symbol == "CRO"


def test_an_unknown_coin_is_coingeckos_404(pycg, sdk):
    with pytest.raises(ValueError) as raised:
        pycg.get_coin_by_id("no-such-coin")
    assert raised.value.args[0] == {"error": "coin not found"}
    with pytest.raises(coingecko_sdk.NotFoundError) as typed:
        sdk.coins.market_chart.get("no-such-coin", vs_currency="usd", days="1")
    assert typed.value.body == {"error": "coin not found"}
    # A symbol whose coin has another CoinGecko id is not an id: "btc" is "bitcoin".
    with pytest.raises(ValueError):
        pycg.get_coin_by_id("btc")


@pytest.mark.parametrize("vs_currency", ["eur", "btc", "usdt"])
def test_another_quote_currency_is_a_400_in_coingeckos_shape(pycg, sdk, vs_currency):
    with pytest.raises(ValueError) as raised:
        pycg.get_coins_markets(vs_currency=vs_currency)
    assert raised.value.args[0] == {"error": "invalid vs_currency"}
    with pytest.raises(coingecko_sdk.BadRequestError) as typed:
        sdk.simple.price.get(ids="bitcoin", vs_currencies=vs_currency)
    assert typed.value.body == {"error": "invalid vs_currency"}


def test_a_coin_the_plan_does_not_name_has_its_symbol_as_id(writable):
    """The writable database's coins (AAA, BBB) are not in data/sources.toml."""
    client = writable.test_client()
    assert client.get("/api/v3/coins/list").get_json() == [
        {"id": "aaa", "symbol": "aaa", "name": "Alpha"},
        {"id": "bbb", "symbol": "bbb", "name": "Beta"},
    ]
    assert client.get("/api/v3/coins/AAA").get_json()["market_data"]["current_price"] == {"usd": 2.0}


def test_charts_end_on_the_coins_own_latest_day(writable):
    """BBB stopped on 2021-01-01, a day before AAA: its chart ends there, not on the latest day of all."""
    client = writable.test_client()
    chart = client.get("/api/v3/coins/bbb/market_chart?vs_currency=usd&days=1")
    assert chart.get_json()["prices"] == [[ms(date(2021, 1, 1)), 5.0]]
    assert chart.headers["X-Data-Through"] == "2021-01-01"
    # Prices are those of the dashboard's default day, the latest day every active coin has
    # (2021-01-01, BBB's last): AAA being a day ahead leaves no coin out.
    prices = client.get("/api/v3/simple/price?ids=aaa,bbb&vs_currencies=usd").get_json()
    assert prices == {"aaa": {"usd": 1.0}, "bbb": {"usd": 5.0}}


def test_a_write_through_api_v1_reaches_the_cached_answers(writable):
    from tests.support.writable import GOOD_CANDLES, basic

    client = writable.test_client()
    url = "/api/v3/simple/price?ids=aaa&vs_currencies=usd"
    # The default day is 2021-01-01 (BBB, an active coin, ends there): AAA's close that day is 1.0.
    assert client.get(url).get_json() == {"aaa": {"usd": 1.0}}
    assert client.get(url).get_json() == {"aaa": {"usd": 1.0}}  # a cache hit
    new_first_day = {"date": "2021-01-01", "open": 8.0, "high": 8.0, "low": 8.0, "close": 8.0}
    written = client.put("/api/v1/currencies/aaa/records", json=[new_first_day, *GOOD_CANDLES], headers=basic("wes"))
    assert written.status_code == 200
    fresh = client.get(url)
    assert fresh.get_json() == {"aaa": {"usd": 8.0}} and fresh.headers["X-Data-Through"] == "2021-01-04"
    assert client.get("/compat/krispyto/search?name=aaa").headers["X-Data-Through"] == "2021-01-04"


def test_a_database_error_is_a_500_in_coingeckos_shape(tmp_path):
    client = make_app(f"sqlite:///{tmp_path / 'empty.sqlite'}").test_client()
    for path in ("/coins/markets?vs_currency=usd", "/coins/bitcoin/market_chart?vs_currency=usd&days=1"):
        answer = client.get("/api/v3" + path)
        assert answer.status_code == 500
        assert answer.get_json() == {"error": "Database connection error"}
