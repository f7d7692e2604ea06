"""The currencies catalogue and one currency: fields, ordering, search and paging."""

from __future__ import annotations

import pytest

from tests.support.truth import CsvTruth


def summary(truth: CsvTruth, symbol: str) -> dict:
    coin = truth.coins[symbol]
    last = max(coin.days)
    # The supply is the newest reported market cap over that day's close (docs/data.md).
    reported = [day for day, v in coin.days.items() if v["Marketcap"] > 0 and v["Close"] > 0]
    supply_day = max(reported) if reported else None
    return {
        "name": coin.name,
        "symbol": symbol,
        "first_day": min(coin.days).isoformat(),
        "last_day": last.isoformat(),
        "latest_close": coin.days[last]["Close"],
        "latest_market_cap": coin.days[last]["Marketcap"],
        "latest_market_cap_estimated": False,
        "circulating_supply": coin.days[supply_day]["Marketcap"] / coin.days[supply_day]["Close"]
        if supply_day
        else None,
        "supply_as_of": supply_day.isoformat() if supply_day else None,
        # The bundled coins start active: no update run has found them delisted or stale.
        "status": "active",
        "status_since": None,
        "status_reason": None,
    }


def test_catalogue_by_latest_market_cap(client, truth):
    response = client.get("/api/v1/currencies")
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "23"
    expected = sorted((summary(truth, s) for s in truth.coins), key=lambda r: (-r["latest_market_cap"], r["symbol"]))
    assert response.get_json() == expected


@pytest.mark.parametrize("per_page", [1, 5, 10, 22, 23, 100])
def test_catalogue_paging(client, truth, per_page):
    """Every page holds exactly its slice of the order computed from the CSVs, and no more."""
    expected = sorted((summary(truth, s) for s in truth.coins), key=lambda r: (-r["latest_market_cap"], r["symbol"]))
    pages = -(-len(expected) // per_page)
    for number in range(1, pages + 2):  # one page past the end, which is empty
        response = client.get(f"/api/v1/currencies?page={number}&per_page={per_page}")
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "23"
        assert response.get_json() == expected[(number - 1) * per_page : number * per_page], (per_page, number)


@pytest.mark.parametrize(
    ("q", "expected_first", "count"),
    [
        ("btc", "BTC", 2),  # exact symbol first, then Wrapped Bitcoin (contains)
        ("Bitcoin", "BTC", 2),  # exact name beats "Wrapped Bitcoin"
        ("  bit ", "BTC", 2),  # prefix, trimmed
        ("COIN", "BTC", 7),  # substring, case-insensitive: by market cap
        ("usd", "USDT", 2),  # prefix matches USDT and USDC (USD Coin) by market cap
        ("crypto.com", "CRO", 1),
    ],
)
def test_catalogue_search(client, q, expected_first, count):
    response = client.get("/api/v1/currencies", query_string={"q": q})
    rows = response.get_json()
    assert response.headers["X-Total-Count"] == str(count)
    assert rows[0]["symbol"] == expected_first


def test_catalogue_search_exact_then_prefix_then_contains(client):
    symbols = [r["symbol"] for r in client.get("/api/v1/currencies?q=coin").get_json()]
    # No exact or prefix match for "coin": every match contains it, ordered by market cap.
    assert symbols == ["BTC", "BNB", "DOGE", "USDC", "LTC", "WBTC", "CRO"]
    prefixed = [r["symbol"] for r in client.get("/api/v1/currencies?q=bitcoin").get_json()]
    assert prefixed == ["BTC", "WBTC"]


@pytest.mark.parametrize("q", ["%", "_", "zzz"])
def test_catalogue_search_wildcards_are_literal(client, q):
    response = client.get("/api/v1/currencies", query_string={"q": q})
    assert response.status_code == 200
    assert response.get_json() == [] and response.headers["X-Total-Count"] == "0"


def test_catalogue_bad_parameters(client):
    assert set(client.get("/api/v1/currencies?per_page=0").get_json()["errors"]) == {"per_page"}
    assert set(client.get("/api/v1/currencies?q=" + "x" * 101).get_json()["errors"]) == {"q"}
    assert set(client.get("/api/v1/currencies?page=a").get_json()["errors"]) == {"page"}


def test_one_currency(client, truth):
    for symbol in ("xmr", "USDT", "Aave"):
        response = client.get(f"/api/v1/currencies/{symbol}")
        assert response.status_code == 200
        assert response.get_json() == summary(truth, symbol.upper())
    missing = client.get("/api/v1/currencies/nope")
    assert missing.status_code == 404
    assert missing.get_json() == {"detail": "Unknown symbol: NOPE"}


def test_catalogue_and_currency_are_one_statement(client, sql_statements):
    client.get("/api/v1/currencies?q=coin&page=2&per_page=3")
    client.get("/api/v1/currencies/btc")
    assert len(sql_statements) == 2
