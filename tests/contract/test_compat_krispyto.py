"""`/compat/krispyto`: each call the Krispyto web client makes (URL shapes from its src/api/api.js),
with the keys and `{"error"}` bodies its components read, answered from the bundled CSVs."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app

BASE = "/compat/krispyto"
KEYS = ["crypto", "symbol", "price", "24h", "7d", "1m", "24h-volume", "market-cap"]
# The client's column keys -> the ground truth's sort keys (tests/support/truth.py).
TRUTH_ORDER = {
    "crypto": "crypto",
    "symbol": "symbol",
    "price": "price",
    "1m": "1m",
    "7d": "7d",
    "24h": "24h",
    "24h-volume": "24h-volume",
    "market-cap": "market_cap",
}
JSON_GET = {"Content-Type": "application/json"}  # what the client sends on every GET


def as_krispyto(row: dict) -> dict:
    """A ground-truth row under the reference server's keys."""
    return {
        "crypto": row["name"],
        "symbol": row["symbol"],
        "price": row["price"],
        "24h": row["change_24h"],
        "7d": row["change_7d"],
        "1m": row["change_1m"],
        "24h-volume": row["volume_24h"],
        "market-cap": row["market_cap"],
    }


def get_crypto(client, id_: str, day: str, order_by: str, order_type: str):
    """getCrypto(req) of the client's api.js."""
    return client.get(
        f"{BASE}/dashboard?id={id_}&date={day}&order_by={order_by}&order_type={order_type}", headers=JSON_GET
    )


def test_first_load_is_every_coin_by_market_cap_with_the_reference_keys(client, truth):
    """Dashboard.js's useEffect: id=all, 2021-07-06, market-cap, desc."""
    answer = get_crypto(client, "all", "2021-07-06", "market-cap", "desc")
    assert answer.status_code == 200
    rows = answer.get_json()
    assert [list(row) for row in rows] == [KEYS] * len(rows)
    expected = [as_krispyto(row) for row in truth.dashboard(None, date(2021, 7, 6), "market_cap", desc=True)]
    assert rows == expected
    assert rows[0]["crypto"] == "Bitcoin" and rows[0]["symbol"] == "BTC"  # Row.js opens /crypto/Bitcoin-BTC
    assert answer.headers["X-Data-Through"] == "2021-07-06"


@pytest.mark.parametrize("order_by", list(TRUTH_ORDER))
@pytest.mark.parametrize("order_type", ["asc", "desc"])
def test_each_column_sorts_as_the_client_asks(client, truth, order_by, order_type):
    """handleOrderClick(by): every header key of the table, both directions."""
    rows = get_crypto(client, "all", "2021-06-01", order_by, order_type).get_json()
    expected = truth.dashboard(None, date(2021, 6, 1), TRUTH_ORDER[order_by], desc=order_type == "desc")
    assert rows == [as_krispyto(row) for row in expected]


def test_a_list_of_symbols_in_any_case(client, truth):
    """The reference README's second example, with an unpadded day as it writes it (2021-11-9)."""
    rows = get_crypto(client, "btc,aave", "2021-7-5", "1m", "asc").get_json()
    expected = truth.dashboard(["BTC", "AAVE"], date(2021, 7, 5), "1m", desc=False)
    assert rows == [as_krispyto(row) for row in expected]


def test_a_change_without_an_earlier_day_is_null(client, truth):
    """The first stored day of Aave has no day before: `24h` is null (Row.js prints it as is)."""
    first = min(truth.coins["AAVE"].days)
    row = get_crypto(client, "aave", first.isoformat(), "crypto", "desc").get_json()[0]
    assert row["24h"] is None and row["7d"] is None and row["1m"] is None
    assert row["price"] == truth.coins["AAVE"].days[first]["Close"]


def test_an_unknown_symbol_is_a_404_with_error(client):
    """Before: `{"detail"}`, so the client's enqueueSnackbar(data.error) got undefined."""
    answer = get_crypto(client, "xxx,btc", "2021-07-06", "price", "asc")
    assert answer.status_code == 404
    assert answer.get_json() == {"error": "No currency found with symbol(s): XXX."}


def test_a_day_without_data_is_a_404_with_error_not_a_204(client):
    """A 204 has no body: the client's res.json() threw and the old rows stayed under the new date."""
    answer = get_crypto(client, "all", "2000-01-01", "market-cap", "desc")
    assert answer.status_code == 404
    assert answer.get_json() == {"error": "No records on 2000-01-01 for the requested currency."}
    assert answer.headers["X-Data-Through"] == "2021-07-06"


@pytest.mark.parametrize(
    "query",
    [
        "id=btc&date=2021-02-30&order_by=price&order_type=asc",
        "id=btc&date=2021-07-06&order_by=volume&order_type=asc",
        "id=btc&date=2021-07-06&order_by=price&order_type=up",
        "date=2021-07-06&order_by=price&order_type=asc",
    ],
)
def test_a_bad_parameter_is_a_400_with_error(client, query):
    answer = client.get(f"{BASE}/dashboard?{query}", headers=JSON_GET)
    assert answer.status_code == 400
    body = answer.get_json()
    assert list(body) == ["error"] and body["error"].startswith("Invalid request parameters")


@pytest.mark.parametrize("name", ["Bitcoin", "bitcoin", "btc", " BTC "])
def test_search_finds_by_name_then_symbol(client, name):
    """Navbar.js's findCrypto: `{name, symbol}` opens /crypto/Bitcoin-BTC."""
    answer = client.get(f"{BASE}/search?name={name}", headers=JSON_GET)
    assert answer.status_code == 200
    assert answer.get_json() == {"name": "Bitcoin", "symbol": "BTC"}
    assert answer.headers["X-Data-Through"] == "2021-07-06"


def test_search_for_an_unknown_coin_is_a_404_with_error(client):
    """Before: "enqueueSnackbar called with invalid argument" (no `error` in the body)."""
    answer = client.get(f"{BASE}/search?name=nocoin", headers=JSON_GET)
    assert answer.status_code == 404
    assert answer.get_json() == {"error": "No currency found with name or symbol 'nocoin'."}


def test_search_without_a_name_is_a_400_with_error(client):
    answer = client.get(f"{BASE}/search", headers=JSON_GET)
    assert answer.status_code == 400 and list(answer.get_json()) == ["error"]


def test_more_than_a_page_of_coins_comes_back_without_paging(client, truth):
    """The reference has no paging: every coin comes back, beyond /api/v1's default 100 rows too."""
    rows = get_crypto(client, "all", "2021-07-06", "symbol", "asc").get_json()
    assert len(rows) == len(truth.dashboard(None, date(2021, 7, 6)))
    assert get_crypto(client, "all", "2021-07-06", "symbol", "asc").headers["X-Total-Count"] == str(len(rows))


def test_errors_the_whole_app_answers_carry_error_too(seeded_database_url):
    """With READ_AUTH=on a missing login is the app's 401: in the client's shape here, /api/v1's there."""
    client = make_app(seeded_database_url, READ_AUTH=True).test_client()
    answer = client.get(f"{BASE}/search?name=btc", headers=JSON_GET)
    assert answer.status_code == 401
    assert list(answer.get_json()) == ["error"] and "WWW-Authenticate" in answer.headers
    assert list(client.get("/api/v1/search?name=btc").get_json()) == ["detail"]


def test_rate_limits_are_shared_with_api_v1_and_answer_error(seeded_database_url):
    client = make_app(seeded_database_url, RATELIMIT_ENABLED=True, RATELIMIT_DEFAULT="2 per minute").test_client()
    assert client.get("/api/v1/search?name=btc").status_code == 200
    assert client.get(f"{BASE}/search?name=btc").status_code == 200
    refused = client.get(f"{BASE}/search?name=btc")
    assert refused.status_code == 429
    assert list(refused.get_json()) == ["error"] and "Retry-After" in refused.headers


def test_answers_come_from_the_shared_cache(seeded_database_url, tmp_path):
    """Same normalised key as /api/v1 (`btc,eth` == `eth,btc`); a 404 keeps the error shape."""
    app = make_app(seeded_database_url, CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "version"))
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    record = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        first = get_crypto(client, "btc,eth", "2021-07-06", "price", "desc")
        computed = len(statements)
        again = get_crypto(client, "eth,btc", "2021-07-06", "price", "desc")
        missing = [client.get(f"{BASE}/search?name=nocoin") for _ in range(2)]
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert computed >= 1 and again.get_data() == first.get_data()
    # The hit ran nothing; 404s are never cached (an attacker's unknown names must not fill the
    # cache, docs/cache.md), so each ran its one statement.
    assert len(statements) == computed + 2
    assert [answer.get_json() for answer in missing] == [
        {"error": "No currency found with name or symbol 'nocoin'."}
    ] * 2


def test_a_database_error_is_a_500_with_error(tmp_path):
    """The reference lists 500 "Database connection error": the app's own 500, in the client's shape."""
    client = make_app(f"sqlite:///{tmp_path / 'empty.sqlite'}").test_client()
    for path in ("/dashboard?id=all&date=2021-07-06&order_by=price&order_type=asc", "/search?name=btc"):
        answer = client.get(BASE + path, headers=JSON_GET)
        assert answer.status_code == 500
        assert answer.get_json() == {"error": "Database connection error"}
