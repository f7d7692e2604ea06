"""Freshness per coin: one coin ahead never empties the default dashboard, and /ready and /metrics
name the stalest ACTIVE coin and count the stale ones. Expected values are spelled out from the
bundled CSVs (every coin ends on 2021-07-06)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app, migrate_and_seed
from tests.support.services import BACKENDS, new_database_url

LAST_CSV_DAY = date(2021, 7, 6)
NEXT_DAY = date(2021, 7, 7)


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path):
    app = make_app(new_database_url(request, request.param, tmp_path))
    migrate_and_seed(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def write_candle(app, symbol: str, day: date, close: float = 100.0) -> None:
    """One candle, as the README's tour writes it (the write API's effect, without users)."""
    with app.app_context(), db.engine.begin() as conn:
        currency_id = conn.execute(sa.text("SELECT id FROM currency WHERE symbol = :s"), {"s": symbol}).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO record (currency_id, date, open, high, low, close, volume, marketcap, source) "
                "VALUES (:c, :d, :p, :p, :p, :p, 1000, NULL, 'api')"
            ),
            {"c": currency_id, "d": day, "p": close},
        )


def set_status(app, symbol: str, status: str, since: date | None, reason: str | None) -> None:
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE currency SET status = :st, status_since = :d, status_reason = :r WHERE symbol = :s"),
            {"st": status, "d": since, "r": reason, "s": symbol},
        )


def age(day: date) -> int:
    return (datetime.now(UTC).date() - day).days


def test_one_coin_ahead_never_empties_the_default_dashboard(fresh):
    write_candle(fresh, "BTC", NEXT_DAY)
    response = fresh.test_client().get("/api/v1/dashboard?id=all")
    assert response.status_code == 200
    body = response.get_json()
    assert len(body) == 23 and {row["date"] for row in body} == {LAST_CSV_DAY.isoformat()}
    assert response.headers["X-Data-Through"] == NEXT_DAY.isoformat()  # the newest day still says how far data goes


def test_delisted_coins_do_not_hold_the_default_day_back(fresh):
    for symbol in ("BTC", "ETH"):
        write_candle(fresh, symbol, NEXT_DAY)
    with fresh.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE currency SET status = 'delisted' WHERE symbol NOT IN ('BTC', 'ETH')"))
    body = fresh.test_client().get("/api/v1/dashboard?id=all").get_json()
    assert sorted((row["symbol"], row["date"]) for row in body) == [("BTC", "2021-07-07"), ("ETH", "2021-07-07")]


def test_ready_names_the_stalest_active_coin_and_counts_the_stale(fresh):
    for symbol in ("BTC", "ETH", "XMR"):
        write_candle(fresh, symbol, NEXT_DAY)
    set_status(fresh, "AAVE", "delisted", LAST_CSV_DAY, "binance AAVE/USDT: inactive")
    ready = fresh.test_client().get("/ready").get_json()
    assert ready["data_through"] == NEXT_DAY.isoformat() and ready["data_age_days"] == age(NEXT_DAY)
    # AAVE is delisted (a known state): the stalest ACTIVE coin is ADA, first by symbol on 2021-07-06.
    assert ready["stalest_coin"] == {"symbol": "ADA", "last_day": "2021-07-06", "age_days": age(LAST_CSV_DAY)}
    assert ready["stale_coins"] == 22 and ready["delisted_coins"] == 1


def test_metrics_name_the_stalest_active_coin(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'm.sqlite'}", TESTING=False)
    migrate_and_seed(app)
    write_candle(app, "BTC", NEXT_DAY)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert f'crypto_api_stalest_active_coin_age_days{{symbol="AAVE"}} {float(age(LAST_CSV_DAY))}' in text
    assert "crypto_api_stale_coins 23.0" in text
    assert f"crypto_api_data_age_days {float(age(NEXT_DAY))}" in text
    with app.app_context():
        db.engine.dispose()


def test_a_day_past_the_data_is_204_with_x_data_through(fresh):
    client = fresh.test_client()
    for path, through in [
        ("/api/v1/dashboard?id=btc&date=2024-03-01", "2021-07-06"),
        ("/api/v1/dashboard?id=all&date=2024-03-01", "2021-07-06"),
        ("/api/v1/currencies/btc/history?start=2024-03-01&end=2024-03-31", "2021-07-06"),
    ]:
        response = client.get(path)
        assert response.status_code == 204, path
        assert response.headers["X-Data-Through"] == through, path


def test_status_is_in_the_catalogue_and_the_single_coin_answer(fresh):
    set_status(fresh, "XEM", "delisted", date(2024, 6, 16), "the source plan names no market after 2024-06-16")
    client = fresh.test_client()
    xem = client.get("/api/v1/currencies/xem").get_json()
    assert (xem["status"], xem["status_since"], xem["status_reason"]) == (
        "delisted", "2024-06-16", "the source plan names no market after 2024-06-16"
    )  # fmt: skip
    catalogue = {row["symbol"]: row for row in client.get("/api/v1/currencies").get_json()}
    assert catalogue["XEM"]["status"] == "delisted" and catalogue["BTC"]["status"] == "active"
    assert catalogue["BTC"]["status_since"] is None and catalogue["BTC"]["status_reason"] is None
