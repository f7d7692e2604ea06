"""Search: exact, case-insensitive name match first, then symbol."""

import pytest

from tests.support.truth import CsvTruth


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("bitcoin", {"name": "Bitcoin", "symbol": "BTC"}),
        ("BITCOIN", {"name": "Bitcoin", "symbol": "BTC"}),
        ("  Bitcoin ", {"name": "Bitcoin", "symbol": "BTC"}),
        ("btc", {"name": "Bitcoin", "symbol": "BTC"}),
        ("Crypto.com Coin", {"name": "Crypto.com Coin", "symbol": "CRO"}),
        ("usd coin", {"name": "USD Coin", "symbol": "USDC"}),
        ("miota", {"name": "IOTA", "symbol": "MIOTA"}),
        ("xrp", {"name": "XRP", "symbol": "XRP"}),
    ],
)
def test_search_finds_by_name_or_symbol(client, term, expected):
    response = client.get("/api/v1/search", query_string={"name": term})
    assert response.status_code == 200
    assert response.get_json() == expected


def test_search_every_coin_by_name_and_symbol(client, truth: CsvTruth):
    for symbol, coin in truth.coins.items():
        assert client.get("/api/v1/search", query_string={"name": coin.name.lower()}).get_json()["symbol"] == symbol
        assert client.get("/api/v1/search", query_string={"name": symbol.lower()}).get_json()["name"] == coin.name


@pytest.mark.parametrize("term", ["bitcoi", "coin", "%", "_", "b%", "Bitcoin Cash"])
def test_search_no_partial_or_wildcard_match(client, term):
    response = client.get("/api/v1/search", query_string={"name": term})
    assert response.status_code == 404
    assert response.get_json() == {"detail": f"No currency named or with symbol {term!r}"}


def test_search_name_match_beats_symbol_match(tmp_path):
    """A coin whose name equals another coin's symbol is found by name first."""
    from tests.support.apps import make_app, migrate_and_seed
    from tests.support.fixtures_csv import write_coin_csv

    write_coin_csv(tmp_path / "a.csv", "Alpha", "ZED", [("2021-01-01", 1.0)])
    write_coin_csv(tmp_path / "b.csv", "Zed", "BETA", [("2021-01-01", 2.0)])
    app = make_app(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate_and_seed(app, str(tmp_path))
    client = app.test_client()
    assert client.get("/api/v1/search?name=zed").get_json() == {"name": "Zed", "symbol": "BETA"}
    assert client.get("/api/v1/search?name=alpha").get_json() == {"name": "Alpha", "symbol": "ZED"}
