"""Numeric extremes (issue 30, item 2) on SQLite and PostgreSQL: writes outside the documented
bounds (docs/limits.md) are a 400, and rows stored before the bounds existed (written directly)
give null changes and volumes instead of PostgreSQL's overflow 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.writable import basic, scalar
from utilities.value_bounds import MAX_MARKET_CAP, MAX_PRICE, MAX_VOLUME, MIN_PRICE

WRITER = basic("wes")


def candle(day: str, price: float, **extra) -> dict:
    return {"date": day, "open": price, "high": price, "low": price, "close": price, **extra}


@pytest.mark.parametrize(
    ("candles", "field"),
    [
        ([candle("2021-01-05", 5e-324)], "must be 0 or between"),  # a subnormal close: a divisor
        ([candle("2021-01-05", 1.7e308)], "must be 0 or between"),
        ([candle("2021-01-05", MAX_PRICE * 10)], "must be 0 or between"),
        ([candle("2021-01-05", 1.0, volume=1.7e308)], "volume must be at most"),
        ([candle("2021-01-05", 1.0, volume=MAX_VOLUME * 2)], "volume must be at most"),
        ([candle("2021-01-05", 1.0, market_cap=MAX_MARKET_CAP * 2)], "market_cap must be at most"),
    ],
)
def test_values_outside_the_bounds_are_a_400(writable, candles, field):
    response = writable.test_client().put("/api/v1/currencies/AAA/records", json=candles, headers=WRITER)
    assert response.status_code == 400
    assert field in response.get_json()["errors"]["[0]"]
    assert scalar(writable, "SELECT count(*) FROM record") == 3  # nothing written


def test_values_at_the_bounds_are_stored(writable):
    candles = [
        candle("2021-01-05", MIN_PRICE, volume=MAX_VOLUME, market_cap=MAX_MARKET_CAP),
        candle("2021-01-06", MAX_PRICE, volume=0, market_cap=0),
        candle("2021-01-07", 0.0),
    ]
    response = writable.test_client().put("/api/v1/currencies/AAA/records", json=candles, headers=WRITER)
    assert response.status_code == 200, response.get_json()
    rows = writable.test_client().get("/api/v1/dashboard?id=aaa&date=2021-01-06").get_json()
    # (MAX - MIN) / MIN * 100 = 1e23 %: large, finite, computed by the database
    assert rows[0]["change_24h"] == pytest.approx((MAX_PRICE - MIN_PRICE) / MIN_PRICE * 100)


def store_directly(app, symbol: str, rows: list[tuple]) -> None:
    """Rows written past the API (as before the bounds existed): (day, close, volume)."""
    with app.app_context(), db.engine.begin() as conn:
        currency_id = conn.execute(sa.text("SELECT id FROM currency WHERE symbol = :s"), {"s": symbol}).scalar()
        for day, close, volume in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO record (currency_id, date, open, high, low, close, volume, source) "
                    "VALUES (:c, :d, :p, :p, :p, :p, :v, 'api')"
                ),
                {"c": currency_id, "d": day, "p": close, "v": volume},
            )


def test_stored_extremes_give_null_changes_not_a_500(writable):
    """The issue's reproduction: 5e-324 on one day, 1.7e308 on the next; the dashboard of that day
    was a 500 on PostgreSQL (NumericValueOutOfRange in the change arithmetic)."""
    store_directly(writable, "BBB", [("2021-01-05", 5e-324, None), ("2021-01-06", 1.7e308, None)])
    client = writable.test_client()
    for path in ("/api/v1/dashboard?id=all&date=2021-01-06", "/api/v1/dashboard?id=bbb&date=2021-01-06&order_by=24h"):
        response = client.get(path)
        assert response.status_code == 200, response.get_data()
        (row,) = [row for row in response.get_json() if row["symbol"] == "BBB"]
        assert row["change_24h"] is None
        assert row["price"] == 1.7e308  # the stored value itself is shown as it is
    assert client.get("/?date=2021-01-06&coin=bbb").status_code == 200  # the page uses the same query


def test_stored_extreme_volumes_give_a_null_period_volume_not_a_500(writable):
    """Seven days of 1.7e308 volume in one week: history?interval=1w, 1M and CSV were 500s."""
    days = [(f"2021-02-0{n}", 2.0, 1.7e308) for n in range(1, 8)]
    store_directly(writable, "BBB", [*days, ("2021-02-08", 2.0, 10.0)])
    client = writable.test_client()
    weekly = client.get("/api/v1/currencies/BBB/history?interval=1w&start=2021-02-01")
    assert weekly.status_code == 200, weekly.get_data()
    # 2021-02-01 is a Monday: its week is the seven extreme days (unknown), the next has 10.
    assert {row["period_start"]: row["volume"] for row in weekly.get_json()} == {"2021-02-01": None, "2021-02-08": 10.0}
    monthly = client.get("/api/v1/currencies/BBB/history?interval=1M&start=2021-02-01")
    assert monthly.status_code == 200, monthly.get_data()
    assert [row["volume"] for row in monthly.get_json()] == [10.0]
    as_csv = client.get("/api/v1/currencies/BBB/history?interval=1w&start=2021-02-01&format=csv")
    assert as_csv.status_code == 200 and as_csv.get_data(as_text=True).count("\n") == 3  # header + 2 weeks
