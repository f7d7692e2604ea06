"""The compatibility surfaces, measured: throughput of `/api/v3/coins/markets` next to
`/api/v1/dashboard?id=all` (and `/compat/krispyto/dashboard`) in one run, and each foreign
client call's status, so a tree before the surfaces existed can be compared with this one.

Usage:
  python bench/compat.py [--database-url URL] [--seconds S]   throughput, in-process (Flask test client)
  python bench/compat.py --calls [--tree PATH]                 each client call's status against a live server
                                                                built from PATH (default: this checkout)

Throughput runs each URL for S seconds per round, rounds interleaved (3), and prints the median
requests per second, with the response cache off (every request computes: the statements and
the adapter) and on (in-process cache: hits after the first). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

URLS = {
    "/api/v1/dashboard?id=all": "/api/v1/dashboard?id=all",
    "/api/v3/coins/markets": "/api/v3/coins/markets?vs_currency=usd",
    "/compat/krispyto/dashboard": "/compat/krispyto/dashboard?id=all&order_by=market-cap&order_type=desc",
}


def import_tree(tree: Path) -> None:
    sys.path.insert(0, str(tree))


def seeded_app(database_url: str | None, **overrides):
    from flask_migrate import upgrade

    from api import create_app
    from api.extensions import db
    from config import BUNDLED_CSV, normalise_database_url
    from tests.support.settings import TestConfig
    from utilities.seeding import seed_from_csv

    url = normalise_database_url(database_url) if database_url else f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, **overrides)
    with app.app_context():
        upgrade()
        seed_from_csv(db.engine, str(BUNDLED_CSV), progress=False)
    return app


def rate(client, url: str, seconds: float) -> float:
    """Requests per second answering 200, for `seconds`."""
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        count += 1
    return count / elapsed


def throughput(database_url: str | None, seconds: float) -> None:
    import_tree(ROOT)
    from api import create_app
    from tests.support.settings import TestConfig

    database = seeded_app(database_url).config["SQLALCHEMY_DATABASE_URI"]
    for label, overrides in (
        ("cache off", {"CACHE_TTL": 0}),
        ("cache on (hits)", {"CACHE_TTL": 3600, "CACHE_VERSION_FILE": f"{tempfile.mkdtemp()}/version"}),
    ):
        client = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database, **overrides).test_client()
        rounds: dict[str, list[float]] = {name: [] for name in URLS}
        for _ in range(3):
            for name, url in URLS.items():
                client.get(url)  # warm: statement cache, and the cache entry when on
                rounds[name].append(rate(client, url, seconds))
        print(f"{label} ({database.split(':')[0]}, {seconds:.1f} s x 3 rounds, median):")
        for name, rates in rounds.items():
            print(f"  {name:32} {statistics.median(rates):8.0f} req/s")


def client_calls(tree: Path) -> None:
    """Each call of pycoingecko, coingecko-sdk and the Krispyto client: its status."""
    import_tree(tree)
    import coingecko_sdk
    import requests
    from pycoingecko import CoinGeckoAPI
    from werkzeug.serving import make_server

    app = seeded_app(None)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    cg = CoinGeckoAPI(retries=0)
    cg.api_base_url = base + "/api/v3/"
    sdk = coingecko_sdk.Coingecko(base_url=base + "/api/v3", demo_api_key="unused", max_retries=0)
    calls = {
        "pycoingecko ping": lambda: cg.ping(),
        "pycoingecko get_price": lambda: cg.get_price(ids="bitcoin", vs_currencies="usd"),
        "pycoingecko get_supported_vs_currencies": lambda: cg.get_supported_vs_currencies(),
        "pycoingecko get_coins_list": lambda: cg.get_coins_list(),
        "pycoingecko get_coins_markets": lambda: cg.get_coins_markets(vs_currency="usd"),
        "pycoingecko get_coin_by_id": lambda: cg.get_coin_by_id("bitcoin"),
        "pycoingecko get_coin_market_chart_by_id": lambda: cg.get_coin_market_chart_by_id("bitcoin", "usd", 30),
        "pycoingecko get_coin_market_chart_range_by_id": lambda: cg.get_coin_market_chart_range_by_id(
            "bitcoin", "usd", 1609459200, 1610236800
        ),
        "pycoingecko get_coin_ohlc_by_id": lambda: cg.get_coin_ohlc_by_id("bitcoin", "usd", 7),
        "pycoingecko get_coin_history_by_id": lambda: cg.get_coin_history_by_id("bitcoin", "01-01-2021"),
        "pycoingecko search": lambda: cg.search("bitcoin"),
        "sdk ping.get": lambda: sdk.ping.get(),
        "sdk simple.price.get": lambda: sdk.simple.price.get(ids="bitcoin", vs_currencies="usd"),
        "sdk coins.list.get": lambda: sdk.coins.list.get(),
        "sdk coins.markets.get": lambda: sdk.coins.markets.get(vs_currency="usd"),
        "sdk coins.get_id": lambda: sdk.coins.get_id("bitcoin"),
        "sdk coins.market_chart.get": lambda: sdk.coins.market_chart.get("bitcoin", vs_currency="usd", days="30"),
        "sdk coins.market_chart.get_range": lambda: sdk.coins.market_chart.get_range(
            "bitcoin", vs_currency="usd", from_="1609459200", to="1610236800"
        ),
        "sdk coins.ohlc.get": lambda: sdk.coins.ohlc.get("bitcoin", vs_currency="usd", days="7"),
        "sdk coins.history.get": lambda: sdk.coins.history.get("bitcoin", date="01-01-2021"),
        "sdk search.get": lambda: sdk.search.get(query="bitcoin"),
    }
    for name, call in calls.items():
        try:
            call()
            outcome = "200"
        except ValueError as error:  # pycoingecko: the JSON error body
            outcome = f"raised ValueError({str(error)[:50]}...)"
        except coingecko_sdk.APIStatusError as error:
            outcome = f"{error.status_code}"
        print(f"  {name:48} {outcome}")
    json_get = {"Content-Type": "application/json"}
    krispyto = {
        "krispyto getCrypto (first load)": "/dashboard?id=all&date=2021-07-06&order_by=market-cap&order_type=desc",
        "krispyto findCrypto (found)": "/search?name=btc",
        "krispyto findCrypto (unknown)": "/search?name=nocoin",
    }
    for prefix in ("/api/v1", "/compat/krispyto"):
        for name, path in krispyto.items():
            answer = requests.get(base + prefix + path, headers=json_get, timeout=10)
            keys = list(answer.json()[0] if isinstance(answer.json(), list) else answer.json())
            print(f"  {name + ' ' + prefix:48} {answer.status_code} keys {keys}")
    server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--calls", action="store_true")
    parser.add_argument("--tree", type=Path, default=ROOT)
    options = parser.parse_args()
    if options.calls:
        client_calls(options.tree.resolve())
    else:
        throughput(options.database_url, options.seconds)


if __name__ == "__main__":
    main()
