"""Writes and lineage: records from the API are `source = api`; a currency's supply is settable and
used to estimate the market cap of days ingested afterwards."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.support.fake_binance import kline
from tests.support.writable import GOOD_CANDLES, basic, scalar


def test_written_records_are_marked_api_and_reported(writable):
    client = writable.test_client()
    assert client.put("/api/v1/currencies/aaa/records", json=GOOD_CANDLES, headers=basic("wes")).status_code == 200
    history = client.get("/api/v1/currencies/aaa/history?start=2021-01-01").get_json()
    assert [(c["period_start"], c["source"], c["market_cap_estimated"]) for c in history] == [
        ("2021-01-01", "csv", False),
        ("2021-01-02", "csv", False),
        ("2021-01-03", "api", False),
        ("2021-01-04", "api", False),
    ]
    assert history[2]["market_cap"] == 100.0  # as sent: a reported figure
    # Re-sending a stored day unchanged keeps its source; changing a value makes it the API's.
    same = {"date": "2021-01-01", "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 10, "market_cap": 1000}
    changed = {**same, "date": "2021-01-02", "open": 2.0, "high": 2.0, "low": 2.0, "close": 2.0, "volume": 11}
    assert client.put("/api/v1/currencies/aaa/records", json=[same, changed], headers=basic("wes")).status_code == 200
    history = client.get("/api/v1/currencies/aaa/history?start=2021-01-01&end=2021-01-02").get_json()
    assert [(c["source"], c["volume"]) for c in history] == [("csv", 10.0), ("api", 11.0)]


def test_supply_set_through_the_api_estimates_ingested_days(writable, fake_binance):
    client = writable.test_client()
    body = {"name": "Cardano", "symbol": "ADA", "circulating_supply": 1000, "supply_as_of": "2021-01-02"}
    response = client.post("/api/v1/currencies", json=body, headers=basic("wes"))
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["circulating_supply"], response.get_json()["supply_as_of"]) == (1000.0, "2021-01-02")
    renamed = client.put(
        "/api/v1/currencies/aaa", json={"name": "Alpha", "circulating_supply": 7}, headers=basic("wes")
    )
    assert renamed.status_code == 200 and renamed.get_json()["circulating_supply"] == 7.0
    assert renamed.get_json()["supply_as_of"] == datetime.now(UTC).date().isoformat()  # default: today
    assert renamed.headers["X-Data-Through"] == "2021-01-02"

    fake_binance.klines["ADAUSDT"] = {date(2021, 1, 3): kline(date(2021, 1, 3), 2.0, 2.5, 1.5, 2.25, 40.0)}
    result = writable.test_cli_runner().invoke(
        args=["ingest", "--symbols", "ADA/USDT", "--since", "2021-01-03", "--until", "2021-01-03"]
    )
    assert result.exit_code == 0, result.output
    (day,) = client.get("/api/v1/currencies/ada/history").get_json()
    assert (day["market_cap"], day["market_cap_estimated"], day["source"]) == (2.25 * 1000, True, "binance")
    assert day["volume"] == pytest.approx(40.0 * (1.5 + 0.4 * 1.0))  # the kline's quote volume, dollars
    ada = client.get("/api/v1/currencies/ada").get_json()
    assert (ada["name"], ada["latest_market_cap_estimated"]) == ("Cardano", True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Alpha", "circulating_supply": -1}, "circulating_supply"),
        ({"name": "Alpha", "circulating_supply": "1000"}, "circulating_supply"),
        ({"name": "Alpha", "circulating_supply": True}, "circulating_supply"),
        ({"name": "Alpha", "circulating_supply": 10**400}, "circulating_supply"),
        ({"name": "Alpha", "circulating_supply": 5, "supply_as_of": "2021-02-30"}, "supply_as_of"),
        ({"name": "Alpha", "circulating_supply": 5, "supply_as_of": "2999-01-01"}, "supply_as_of"),
        ({"name": "Alpha", "supply_as_of": "2021-01-01"}, "supply_as_of"),
    ],
)
def test_bad_supply_is_a_400_naming_the_field_and_writes_nothing(writable, body, field):
    client = writable.test_client()
    response = client.put("/api/v1/currencies/aaa", json=body, headers=basic("wes"))
    assert response.status_code == 400
    assert field in response.get_json()["errors"]
    # Unchanged: seeded from the last CSV day's market cap over its close (1000 / 2.0).
    assert scalar(writable, "SELECT circulating_supply FROM currency WHERE symbol = 'AAA'") == 500.0
