"""One `flask ingest --update` in the faked world, exchanges and CoinGecko together: the candles
come from the exchanges, and then market cap and volume keep their meaning (CoinGecko's where its
plan covers the day, the exchange's own volume marked `exchange` where it does not).

The exchanges are served over HTTP on 127.0.0.1 (EXCHANGE_URL_OVERRIDE), CoinGecko through
`responses`; expected figures come from the two fake worlds' own curves, never from the app.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fake_coingecko import PUBLIC_URL, coingecko_answering, world_coin
from tests.support.fake_exchanges import SEAM, TODAY, YESTERDAY, FakeWorld, serve_world
from tests.support.services import BACKENDS, new_database_url

OUTSIDE_THE_FREE_PLAN = date(2024, 3, 1)  # more than 365 days before TODAY


@pytest.fixture(scope="module", params=BACKENDS)
def updated(request, tmp_path_factory):
    url = new_database_url(request, request.param, tmp_path_factory.mktemp("aggregated"))
    with serve_world(FakeWorld()) as exchanges:
        app = make_app(url, INGEST_BACKOFF_SECONDS=0.0, EXCHANGE_URL_OVERRIDE=exchanges, COINGECKO_API_URL=PUBLIC_URL)
        migrate_and_seed(app)
        with coingecko_answering(passthru=(exchanges,), today=TODAY) as gecko:
            result = app.test_cli_runner().invoke(args=["ingest", "--update"])
    yield app, result, gecko
    with app.app_context():
        db.engine.dispose()


def figures(app, symbol: str, day: date) -> tuple:
    with app.app_context(), db.engine.connect() as conn:
        return conn.execute(
            sa.text(
                "SELECT r.marketcap, r.marketcap_source, r.volume, r.volume_source, r.source FROM record r "
                "JOIN currency c ON c.id = r.currency_id WHERE c.symbol = :s AND r.date = :d"
            ),
            {"s": symbol, "d": day},
        ).one()


def test_the_update_asks_the_aggregator_once_the_candles_are_stored(updated):
    _, result, gecko = updated
    assert result.exit_code == 0, result.output
    assert gecko.calls, "the update never asked CoinGecko"
    assert "22 active, 1 delisted, 0 stale" in result.output


@pytest.mark.parametrize("symbol, coingecko_id", [("BTC", "bitcoin"), ("USDT", "tether"), ("SOL", "solana")])
def test_market_cap_and_volume_are_the_aggregators_on_days_its_plan_covers(updated, symbol, coingecko_id):
    app, _, _ = updated
    coin = world_coin(coingecko_id)
    cap, cap_source, volume, volume_source, source = figures(app, symbol, YESTERDAY)
    assert source != "csv" and (cap_source, volume_source) == ("coingecko", "coingecko")
    assert cap == pytest.approx(coin.market_cap(YESTERDAY), rel=0.01)
    assert volume == pytest.approx(coin.total_volume(YESTERDAY), rel=0.01)


def test_days_beyond_the_free_plan_keep_the_exchange_volume_marked(updated):
    app, _, _ = updated
    _, _, volume, volume_source, source = figures(app, "BTC", OUTSIDE_THE_FREE_PLAN)
    assert volume_source == source == "binance" and volume > 0
    history = app.test_client().get(
        f"/api/v1/currencies/BTC/history?start={OUTSIDE_THE_FREE_PLAN}&end={OUTSIDE_THE_FREE_PLAN}"
    )
    (candle,) = history.get_json()
    assert (candle["volume_source"], candle["volume_scope"]) == ("binance", "exchange")
    # The seam's CSV day keeps its reported figures.
    assert figures(app, "BTC", SEAM.fromordinal(SEAM.toordinal() - 1))[1] == "csv"
