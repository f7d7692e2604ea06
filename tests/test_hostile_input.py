"""Injection-shaped and oversized input in every parameter and body field: a clear 4xx, never a
500, and nothing written."""

from __future__ import annotations

import pytest

from tests.writable import basic, database_state

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
