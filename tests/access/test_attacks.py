"""What an attacker found (issue 30), each reproduction now refused: made-up methods in /metrics,
unknown symbols in the cache, the Host header in redirects, oversized chunked bodies, the
OpenAPI document behind READ_AUTH, duplicate JSON keys, look-alike names, future dates, and a
database DataError. Each test failed on the code before the fix."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy.exc import DataError

from api.extensions import db
from tests.support.apps import make_app
from tests.support.writable import basic, scalar

WRITER = basic("wes")
JSON = {**WRITER, "Content-Type": "application/json"}


def tomorrow_utc() -> str:
    return (datetime.now(UTC).date() + timedelta(days=1)).isoformat()


# Item 4: /metrics labels ----------------------------------------------------------------------


def series(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def test_made_up_methods_add_no_metric_series(seeded_database_url):
    """50 requests with invented methods (`XQWERTY0 /health`): before, 900 new series (18 each)."""
    client = make_app(seeded_database_url, TESTING=False).test_client()
    client.open("/health", method="XQWERTY")  # the "other" series exist from here on
    before = series(client.get("/metrics").get_data(as_text=True))
    for number in range(50):
        client.open("/health", method=f"XQWERTY{number}")
    text = client.get("/metrics").get_data(as_text=True)
    assert series(text) == before
    assert 'method="XQWERTY' not in text
    assert 'method="other"' in text


# Item 6: 404s for unknown symbols are not stored -----------------------------------------------


@pytest.fixture
def redis_cached_app(own_redis, seeded_database_url, tmp_path):
    url = f"redis://127.0.0.1:{own_redis['port']}/0"
    app = make_app(seeded_database_url, CACHE_TTL=1800, REDIS_URL=url, CACHE_VERSION_FILE=str(tmp_path / "v"))
    yield app, redis.Redis(port=own_redis["port"])
    with app.app_context():
        db.engine.dispose()


def redis_bytes(client: redis.Redis) -> int:
    """Bytes held by the keys (names and values) of this test's own Redis."""
    return sum(len(key) + (client.memory_usage(key) or 0) for key in client.scan_iter(count=1000))


def test_unknown_symbol_sets_leave_no_cache_entry(redis_cached_app):
    """`id=<1,000 random symbols>` stored an 8 KB key and a 9 KB body for 30 minutes."""
    app, store = redis_cached_app
    client = app.test_client()
    client.get("/api/v1/dashboard?id=btc")  # the data-version key and one real entry
    keys_before, bytes_before = store.dbsize(), redis_bytes(store)
    for number in range(20):
        symbols = ",".join(f"Q{number}X{n:05d}" for n in range(1000))
        response = client.get(f"/api/v1/dashboard?id={symbols}")
        assert response.status_code == 404
    assert client.get("/api/v1/currencies/NOPE").status_code == 404
    assert client.get("/api/v1/search?name=no-such-coin").status_code == 404
    assert (store.dbsize(), redis_bytes(store)) == (keys_before, bytes_before)


def test_long_cache_keys_are_stored_under_a_fixed_size_digest(redis_cached_app):
    """A long list of known symbols is cached under a key of fixed size, not the query's length."""
    app, store = redis_cached_app
    client = app.test_client()
    known = "btc,eth,ltc,xrp,doge,ada,dot,link,uni,sol,usdt,usdc,bnb,xlm,xmr,eos,trx,atom,aave,cro,miota,wbtc,xem"
    assert client.get(f"/api/v1/dashboard?id={known}&date=2021-07-01").status_code == 200
    assert client.get(f"/api/v1/dashboard?id={known}&date=2021-07-01").headers["ETag"]
    longest = max(len(key) for key in store.scan_iter())
    assert longest < 120  # prefix, version and a 40-character digest; the plain key is over 170


# Item 12: redirects carry no client-supplied host ----------------------------------------------


def test_slash_redirect_does_not_echo_the_host_header(client):
    response = client.get("/api/v1//dashboard", query_string="id=all", headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == "/api/v1/dashboard?id=all"


# Item 13: an oversized chunked body is 413 -----------------------------------------------------


def test_oversized_chunked_body_is_413(writable):
    """Chunked (no Content-Length) past MAX_CONTENT_LENGTH: 413 JSON, not "body: is not valid JSON"."""
    limit = writable.config["MAX_CONTENT_LENGTH"]
    body = io.BytesIO(b'{"name": "' + b"a" * limit + b'", "symbol": "BIG"}')
    # `wsgi.input_terminated`: what gunicorn (and any server that decodes chunked bodies) sets.
    response = writable.test_client().post(
        "/api/v1/currencies",
        input_stream=body,
        headers={**JSON, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert "detail" in response.get_json()


# Item 15: the OpenAPI document at both URLs ----------------------------------------------------


def test_openapi_document_is_open_at_both_urls_with_read_auth(seeded_database_url):
    client = make_app(seeded_database_url, READ_AUTH=True).test_client()
    assert client.get("/api/v1/dashboard?id=btc").status_code == 401  # data stays protected
    legacy, current = client.get("/apispec_1.json"), client.get("/openapi.json")
    assert (legacy.status_code, current.status_code) == (200, 200)
    assert legacy.get_json() == current.get_json()


# Item 16: duplicate keys, look-alike names ------------------------------------------------------


def test_duplicate_json_keys_are_a_400_naming_the_key(writable):
    client = writable.test_client()
    response = client.post("/api/v1/currencies", data='{"name": "A", "name": "B", "symbol": "DUP"}', headers=JSON)
    assert response.status_code == 400
    assert "'name' appears more than once" in response.get_json()["errors"]["body"]
    candles = '[{"date": "2021-01-05", "open": 1, "high": 2, "low": 1, "close": 2, "close": 9}]'
    response = client.put("/api/v1/currencies/AAA/records", data=candles, headers=JSON)
    assert response.status_code == 400 and "'close'" in response.get_json()["errors"]["body"]
    assert scalar(writable, "SELECT count(*) FROM currency WHERE symbol = 'DUP'") == 0


@pytest.mark.parametrize("name", ["Bitcoin\u200b", "\u202enioctiB", "Bit\u200dcoin", "Bit\ufeffcoin", "Bit\u2028coin"])
def test_names_with_bidi_or_zero_width_characters_are_refused(writable, name):
    client = writable.test_client()
    response = client.post("/api/v1/currencies", data=json.dumps({"name": name, "symbol": "LOOK"}), headers=JSON)
    assert response.status_code == 400
    assert "bidi or zero-width" in response.get_json()["errors"]["name"]
    response = client.put("/api/v1/currencies/AAA", data=json.dumps({"name": name}), headers=JSON)
    assert response.status_code == 400
    assert scalar(writable, "SELECT name FROM currency WHERE symbol = 'AAA'") == "Alpha"


def test_ordinary_unicode_names_are_still_accepted(writable):
    response = writable.test_client().post(
        "/api/v1/currencies", data=json.dumps({"name": "Ætherium Ünïcode 币", "symbol": "AEU"}), headers=JSON
    )
    assert response.status_code == 201


# Item 3: nothing dated after today (UTC) --------------------------------------------------------


def test_candles_and_supply_after_today_are_refused(writable):
    """A writer moved "the latest day" to 9999-12-31 for the dashboard, /ready and the metrics."""
    client = writable.test_client()
    for day in ("9999-12-31", tomorrow_utc()):
        candle = [{"date": day, "open": 1, "high": 1, "low": 1, "close": 1}]
        response = client.put("/api/v1/currencies/AAA/records", json=candle, headers=WRITER)
        assert response.status_code == 400
        assert "after today" in response.get_json()["errors"]["[0]"]
        supply = {"name": "Alpha", "circulating_supply": 1000, "supply_as_of": day}
        response = client.put("/api/v1/currencies/AAA", json=supply, headers=WRITER)
        assert response.status_code == 400 and "after today" in response.get_json()["errors"]["supply_as_of"]
    assert scalar(writable, "SELECT max(date) FROM record") in ("2021-01-02", datetime(2021, 1, 2).date())
    today = [{"date": datetime.now(UTC).date().isoformat(), "open": 1, "high": 1, "low": 1, "close": 1}]
    assert client.put("/api/v1/currencies/AAA/records", json=today, headers=WRITER).status_code == 200


# A database DataError is a 400 naming the field -------------------------------------------------


def test_a_database_data_error_is_a_400_not_a_500(writable, monkeypatch):
    """Whatever value slips past validation and the database refuses is the client's input."""
    import api.v1.records as records

    class Refused(Exception):
        class diag:  # what psycopg2 reports for a column it could not store into
            column_name = "close"

    def refuse(*args, **kwargs):
        raise DataError("INSERT INTO record ...", {}, Refused("value out of range: overflow"))

    monkeypatch.setattr(records, "upsert_records", refuse)
    candle = [{"date": "2021-01-05", "open": 1, "high": 1, "low": 1, "close": 1}]
    response = writable.test_client().put("/api/v1/currencies/AAA/records", json=candle, headers=WRITER)
    assert response.status_code == 400
    body = response.get_json()
    assert "value out of range" in body["errors"]["close"]
