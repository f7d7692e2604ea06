"""Injection-shaped and oversized input in every parameter and body field: a clear 4xx, never a
500, and nothing written."""

from __future__ import annotations

import pytest

from tests.support.writable import basic, database_state

HOSTILE = [
    "'; DROP TABLE currency; --",
    '" OR 1=1 --',
    "btc' UNION SELECT password_hash FROM user_account --",
    "%' OR '%'='",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\x00\x01\x7f",
    "\U0001d51f\U0001d531\U0001d520 \u00fcn\u00efc\u00f8d\u00e9",
    "x" * 10_000,
    "1e309",
    "NaN",
    "-1",
    "2021-07-06T00:00:00Z",
]


# Values that are not well-formed symbols, a fixed list (never derived from the app's own pattern,
# so loosening the pattern cannot shrink it). "1e309" and "NaN" of HOSTILE are legal symbols.
MALFORMED = [
    "'; DROP TABLE currency; --",
    '" OR 1=1 --',
    "btc' UNION SELECT password_hash FROM user_account --",
    "%' OR '%'='",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "\x00\x01\x7f",
    "\U0001d51f\U0001d531\U0001d520 \u00fcn\u00efc\u00f8d\u00e9",
    "x" * 10_000,
    "x" * 21,  # one character over the 20 a symbol may have
    "-1",
    "_BTC",
    "2021-07-06T00:00:00Z",
    "BT C",
]
assert len(MALFORMED) == 14  # an empty parametrization would skip silently


def assert_refused_cleanly(response, allowed=(400, 404, 405, 413, 415)) -> None:
    assert response.status_code in allowed, (response.status_code, response.get_data()[:200])
    assert response.headers["Content-Type"] == "application/json"
    assert isinstance(response.get_json()["detail"], str)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_query_parameters_on_reads(client, value):
    for name in ("id", "date", "order_by", "order_type", "page", "per_page"):
        params = {"id": "btc", name: value}
        assert_refused_cleanly(client.get("/api/v1/dashboard", query_string=params))
    assert client.get("/api/v1/search", query_string={"name": value}).status_code in (400, 404)
    for name in ("start", "end", "interval", "format"):
        assert_refused_cleanly(client.get("/api/v1/currencies/btc/history", query_string={name: value}))
    catalogue = client.get("/api/v1/currencies", query_string={"q": value})
    assert catalogue.status_code in (200, 400) and catalogue.headers["Content-Type"] == "application/json"
    for name in ("page", "per_page"):
        assert_refused_cleanly(client.get("/api/v1/currencies", query_string={name: value}))


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_path_symbols(client, value):
    quoted = value.replace("/", "%2F")
    for path in (f"/api/v1/currencies/{quoted}", f"/api/v1/currencies/{quoted}/history"):
        assert_refused_cleanly(client.get(path))


@pytest.mark.parametrize("value", MALFORMED)
def test_hostile_bodies_write_nothing(writable, value):
    client = writable.test_client()
    before = database_state(writable)
    writer, admin = basic("wes"), basic("ann")
    symbol = value.replace("/", "%2F")
    attempts = [
        client.post("/api/v1/currencies", json={"name": value, "symbol": value}, headers=writer),
        client.post("/api/v1/currencies", json={"name": "Ok", "symbol": value}, headers=writer),
        client.post("/api/v1/currencies", json={"name": value, "symbol": "OK", "admin": True}, headers=writer),
        client.post("/api/v1/currencies", json=[value], headers=writer),
        client.post("/api/v1/currencies", data=value, content_type="application/json", headers=writer),
        client.post("/api/v1/currencies", data=value, content_type="text/plain", headers=writer),
        client.put("/api/v1/currencies/aaa", json={"name": value, "symbol": value}, headers=writer),
        client.put(f"/api/v1/currencies/{symbol}", json={"name": "x"}, headers=writer),
        client.delete(f"/api/v1/currencies/{symbol}", headers=admin),
        client.put("/api/v1/currencies/aaa/records", json=[{"date": value, "open": 1, "high": 1, "low": 1}]),
        client.put(
            "/api/v1/currencies/aaa/records",
            json=[{"date": "2021-01-05", "open": value, "high": 1, "low": 1, "close": 1}],
            headers=writer,
        ),
        client.put(
            "/api/v1/currencies/aaa/records",
            json=[{"date": "2021-01-05", "open": 1, "high": 1, "low": 1, "close": 1, value[:50]: 1}],
            headers=writer,
        ),
        client.put("/api/v1/currencies/aaa/records", json={"date": value}, headers=writer),
        client.delete("/api/v1/currencies/aaa/records", query_string={"start": value}, headers=admin),
        client.delete("/api/v1/currencies/aaa/records", query_string={"end": value}, headers=admin),
    ]
    for response in attempts:
        assert response.status_code in (400, 401, 404, 405, 413, 415), (response.status_code, response.get_data()[:300])
        assert response.headers["Content-Type"] == "application/json"
    assert database_state(writable) == before


def test_oversized_bodies_are_413(writable):
    client = writable.test_client()
    huge = "[" + ",".join(['{"date":"2021-01-05","open":1,"high":1,"low":1,"close":1}'] * 40_000) + "]"
    assert len(huge) > writable.config["MAX_CONTENT_LENGTH"]
    before = database_state(writable)
    response = client.put(
        "/api/v1/currencies/aaa/records", data=huge, content_type="application/json", headers=basic("wes")
    )
    assert response.status_code == 413
    assert response.get_json()["detail"]
    too_many = [{"date": f"2{n:03d}-01-01", "open": 1, "high": 1, "low": 1, "close": 1} for n in range(10_001)]
    response = client.put("/api/v1/currencies/aaa/records", json=too_many, headers=basic("wes"))
    assert response.status_code in (400, 413)
    assert database_state(writable) == before


def test_hostile_headers(client):
    assert client.get("/api/v1/dashboard?id=btc", headers={"If-None-Match": "x" * 5000}).status_code == 200
    assert client.get("/api/v1/currencies/btc/history", headers={"Accept": "text/csv;q=abc, */*"}).status_code == 200
    response = client.get("/health", headers={"X-Request-ID": "'; DROP TABLE--"})
    assert response.status_code == 200 and "DROP" not in response.headers["X-Request-ID"]
    bad_auth = client.post("/api/v1/tokens", headers={"Authorization": "Basic !!!not-base64"})
    assert bad_auth.status_code == 401 and bad_auth.get_json()["detail"]
    assert client.post("/api/v1/tokens", headers={"Authorization": "Bearer " + "x" * 5000}).status_code == 401


# Bodies the JSON decoder accepts but Python or the database cannot hold (issue 12, item 4).
DEEP = "[" * 50_000 + "]" * 50_000
CANDLE = '{"date": "2021-01-05", "open": %s, "high": 2, "low": 0.5, "close": 1}'
UNHOLDABLE_CURRENCIES = [
    (DEEP, "body"),
    ('{"name": ' + "[" * 50_000 + "]" * 50_000 + ', "symbol": "DEEP"}', "body"),
    ('{"name": "X\\ud800Y", "symbol": "XY"}', "name"),
    ('{"name": "\\udfff", "symbol": "XY"}', "name"),
    ('{"name": "Nul\\u0000Coin", "symbol": "XY"}', "name"),
    ('{"name": "Ok", "symbol": "X\\ud800"}', "symbol"),
    ('{"name": "Ok", "symbol": "XY", "\\ud800": 1}', "body"),
    ('{"name": "Ok", "symbol": NaN}', "symbol"),
    ('{"name": Infinity, "symbol": "XY"}', "name"),
]
UNHOLDABLE_CANDLES = [
    DEEP,
    "[" + CANDLE % ("1" * 400) + "]",
    "[" + CANDLE % ("-" + "9" * 400) + "]",
    "[" + CANDLE % "1e400" + "]",
    "[" + CANDLE % "NaN" + "]",
    "[" + CANDLE % "Infinity" + "]",
    "[" + CANDLE % "-Infinity" + "]",
    '[{"date": "2021-01-05", "open": 1, "high": 2, "low": 0.5, "close": 1, "volume": ' + "7" * 400 + "}]",
    '[{"date": "\\ud800", "open": 1, "high": 2, "low": 0.5, "close": 1}]',
    '[{"date": "\u0662\u0660\u0662\u0661-\u0660\u0661-\u0660\u0665", "open": 1, "high": 2, "low": 0.5, "close": 1}]',
    '[{"date": "2021-01-05", "open": 1, "high": 2, "low": 0.5, "close": 1, "\\ud800": 1}]',
]


def assert_field_named(response, field: str) -> None:
    assert response.status_code == 400, (response.status_code, response.get_data()[:300])
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert isinstance(body["detail"], str) and body["detail"]
    assert field in body["errors"], body


@pytest.mark.parametrize(("raw", "field"), UNHOLDABLE_CURRENCIES, ids=range(len(UNHOLDABLE_CURRENCIES)))
def test_unholdable_currency_bodies_are_400_naming_the_field(writable, raw, field):
    client = writable.test_client()
    before = database_state(writable)
    writer = basic("wes")
    created = client.post("/api/v1/currencies", data=raw, content_type="application/json", headers=writer)
    assert_field_named(created, field)
    replaced = client.put("/api/v1/currencies/aaa", data=raw, content_type="application/json", headers=writer)
    assert replaced.status_code == 400 and replaced.get_json()["detail"]
    assert database_state(writable) == before


@pytest.mark.parametrize("raw", UNHOLDABLE_CANDLES, ids=range(len(UNHOLDABLE_CANDLES)))
def test_unholdable_candles_are_400_naming_the_row(writable, raw):
    client = writable.test_client()
    before = database_state(writable)
    response = client.put(
        "/api/v1/currencies/aaa/records", data=raw, content_type="application/json", headers=basic("wes")
    )
    assert_field_named(response, "body" if raw is DEEP else "[0]")
    assert database_state(writable) == before


def test_huge_number_error_names_the_candle_field(writable):
    response = writable.test_client().put(
        "/api/v1/currencies/aaa/records",
        data="[" + CANDLE % ("1" * 400) + "]",
        content_type="application/json",
        headers=basic("wes"),
    )
    assert response.status_code == 400
    assert response.get_json()["errors"]["[0]"].startswith("open ")


# Non-ASCII look-alikes never alias a real coin (issue 12, item 5): `.upper()` folds U+017F
# (long s) into S, U+0131 (dotless i) into I, U+00DF (sharp s) into SS and U+FB00 into FF.
LOOKALIKES = ["\u017fol", "\u017fOL", "bt\u0441", "\u0131cp", "\u00df", "\ufb00"]


@pytest.mark.parametrize("value", LOOKALIKES)
def test_lookalike_path_symbols_are_404(client, value):
    from urllib.parse import quote

    for path in (f"/api/v1/currencies/{quote(value)}", f"/api/v1/currencies/{quote(value)}/history"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.get_data()[:200])
        assert response.get_json()["detail"].startswith("Unknown symbol")


@pytest.mark.parametrize("value", LOOKALIKES)
def test_lookalike_symbols_in_id_lists_are_400(client, value):
    response = client.get("/api/v1/dashboard", query_string={"id": f"btc,{value}"})
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"id"}


@pytest.mark.parametrize("value", LOOKALIKES)
def test_lookalike_search_terms_find_no_coin(client, value):
    response = client.get("/api/v1/search", query_string={"name": value})
    assert response.status_code == 404, response.get_data()[:200]


def test_solana_itself_is_still_found(client):
    assert client.get("/api/v1/currencies/sol").status_code == 200
    assert client.get("/api/v1/search", query_string={"name": "sol"}).get_json()["symbol"] == "SOL"


@pytest.mark.parametrize("value", ["\u00df", "\u017fol", "\ufb00", "X\u0130"])
def test_lookalike_symbols_in_bodies_create_nothing(writable, value):
    client = writable.test_client()
    before = database_state(writable)
    response = client.post("/api/v1/currencies", json={"name": "Look-alike", "symbol": value}, headers=basic("wes"))
    assert_field_named(response, "symbol")
    for folded in ("SS", "SOL", "FF", "XI"):
        assert client.get(f"/api/v1/currencies/{folded}").status_code == 404
    assert database_state(writable) == before
