"""Market cap and volume across the seam, completed from the aggregator (utilities/aggregates.py).

The bundled CSVs end on 2021-07-06; exchange candles after it are written here as ingestion
writes them (`store_records`, the exchange's id, close x the supply carried from the CSVs, marked
estimated), with closes 0.1 % off the aggregator's price and one market's volume (about 1/29 of
the aggregate, as BTC's drop at the seam). CoinGecko is the fake world of
tests/support/fake_coingecko.py; expected figures come from that world's curves and the CSVs.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fake_coingecko import PRO_URL, PUBLIC_URL, WORLD, world_coin
from tests.support.services import BACKENDS, new_database_url
from tests.support.truth import CsvTruth
from tests.support.writable import GOOD_CANDLES, basic
from utilities import aggregates
from utilities.aggregates import SUPPLY_HOLD_DAYS, refresh_aggregates, supply_on
from utilities.bulk_store import store_records
from utilities.coingecko import CoinGeckoClient
from utilities.schema import currency_table, record_table, supply_table
from utilities.source_plan import load_source_plan

LAST_CSV_DAY = date(2021, 7, 6)
SEAM = LAST_CSV_DAY + timedelta(days=1)
EXCHANGE = {"BTC": "binance", "USDT": "kraken", "SOL": "binance"}
ID = {"BTC": "bitcoin", "USDT": "tether", "SOL": "solana"}
EXCHANGE_SHARE = 1 / 29


def csv_supply(truth: CsvTruth, symbol: str) -> float:
    row = truth.coins[symbol].days[LAST_CSV_DAY]
    return row["Marketcap"] / row["Close"]


def exchange_close(symbol: str, day: date) -> float:
    return WORLD[ID[symbol]].price(day) * 1.001


def exchange_volume(symbol: str, day: date) -> float:
    return WORLD[ID[symbol]].total_volume(day) * EXCHANGE_SHARE


def ingest(engine, truth: CsvTruth, symbols: list[str], end: date) -> None:
    """What the exchange side stores after the seam: candles, estimated caps from the carried supply."""
    with engine.begin() as conn:
        for symbol in symbols:
            currency_id = conn.execute(
                sa.select(currency_table.c.id).where(currency_table.c.symbol == symbol)
            ).scalar_one()
            supply = csv_supply(truth, symbol)
            rows = []
            for n in range((end - SEAM).days + 1):
                day = SEAM + timedelta(days=n)
                close = exchange_close(symbol, day)
                rows.append(
                    (day, close, close * 1.01, close * 0.99, close, exchange_volume(symbol, day), close * supply)
                )
            store_records(conn, currency_id, rows, replace=True, source=EXCHANGE[symbol], marketcap_estimated=True)


def client_(url: str = PUBLIC_URL, key: str | None = None) -> CoinGeckoClient:
    return CoinGeckoClient(url, key, deadline=30, sleep=lambda seconds: None)


@pytest.fixture(params=BACKENDS)
def seeded(request, tmp_path):
    """The bundled CSVs in a fresh database of each backend, cache on; yields the app."""
    url = new_database_url(request, request.param, tmp_path)
    app = make_app(url, CACHE_TTL=300, CACHE_VERSION_FILE=str(tmp_path / "cache-version"))
    migrate_and_seed(app)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def seeded_sqlite(request, tmp_path):
    app = make_app(new_database_url(request, "sqlite", tmp_path))
    migrate_and_seed(app)
    yield app
    with app.app_context():
        db.engine.dispose()


def engine_of(app):
    with app.app_context():
        return db.engine


def candles(app, symbol: str, start: date, end: date) -> dict[date, dict]:
    rows = app.test_client().get(f"/api/v1/currencies/{symbol}/history?start={start}&end={end}").get_json()
    return {date.fromisoformat(row["period_start"]): row for row in rows}


def all_rows(engine) -> tuple:
    with engine.connect() as conn:
        records = conn.execute(sa.select(record_table).order_by(record_table.c.currency_id, record_table.c.date)).all()
        supply = conn.execute(sa.select(supply_table).order_by(supply_table.c.currency_id, supply_table.c.date)).all()
        currencies = conn.execute(sa.select(currency_table).order_by(currency_table.c.id)).all()
    return records, supply, currencies


# --- supply between known points --------------------------------------------------------------


POINTS = [(date(2021, 7, 6), 100.0), (date(2021, 8, 5), 160.0)]


def test_supply_is_linear_between_two_known_points():
    assert supply_on(POINTS, date(2021, 7, 6)) == 100.0
    assert supply_on(POINTS, date(2021, 7, 21)) == 130.0  # halfway: 15 of 30 days
    assert supply_on(POINTS, date(2021, 7, 16)) == pytest.approx(100 + 60 * 10 / 30, rel=1e-15)
    assert supply_on(POINTS, date(2021, 8, 5)) == 160.0


def test_supply_is_held_at_most_the_hold_days_past_the_newest_point_then_unknown():
    newest = POINTS[-1][0]
    assert supply_on(POINTS, newest + timedelta(days=SUPPLY_HOLD_DAYS)) == 160.0
    assert supply_on(POINTS, newest + timedelta(days=SUPPLY_HOLD_DAYS + 1)) is None
    assert supply_on(POINTS, newest + timedelta(days=3 * 365)) is None  # never carried for years
    assert supply_on(POINTS, POINTS[0][0] - timedelta(days=SUPPLY_HOLD_DAYS)) == 100.0
    assert supply_on(POINTS, POINTS[0][0] - timedelta(days=SUPPLY_HOLD_DAYS + 1)) is None
    assert supply_on([], newest) is None


# --- across the seam ---------------------------------------------------------------------------


def test_market_cap_and_volume_are_the_aggregators_one_day_after_the_seam(seeded, truth, fake_coingecko):
    engine = engine_of(seeded)
    end = date(2021, 7, 20)
    ingest(engine, truth, ["BTC", "SOL"], end)
    cached = candles(seeded, "BTC", LAST_CSV_DAY, end)  # now in the response cache
    assert cached[SEAM]["volume_scope"] == "exchange"
    fake_coingecko.today = end + timedelta(days=1)
    report = refresh_aggregates(engine, ["BTC", "SOL"], SEAM, end, today=fake_coingecko.today, client=client_())
    assert report.ok and report.problem is None, report.lines()
    for symbol in ("BTC", "SOL"):
        coin = WORLD[ID[symbol]]
        served = candles(seeded, symbol, LAST_CSV_DAY, end)
        seam = served[SEAM]
        assert seam["market_cap"] == pytest.approx(coin.market_cap(SEAM), rel=0.01)
        assert seam["volume"] == pytest.approx(coin.total_volume(SEAM), rel=0.01)
        assert (seam["marketcap_source"], seam["market_cap_estimated"]) == ("coingecko", False)
        assert (seam["volume_source"], seam["volume_scope"], seam["volume_estimated"]) == (
            "coingecko",
            "aggregate",
            False,
        )
        assert seam["source"] == EXCHANGE[symbol] and seam["close"] == exchange_close(symbol, SEAM)  # prices stay
        # The CSV day before is untouched: reported figures are never replaced.
        csv_day = truth.coins[symbol].days[LAST_CSV_DAY]
        before = served[LAST_CSV_DAY]
        assert (before["market_cap"], before["volume"]) == (csv_day["Marketcap"], csv_day["Volume"])
        assert (before["marketcap_source"], before["volume_scope"]) == ("csv", "aggregate")
    # BTC's volume no longer drops ~29x at the seam: both sides add up every market.
    btc = candles(seeded, "BTC", LAST_CSV_DAY, SEAM)
    assert btc[SEAM]["volume"] / btc[LAST_CSV_DAY]["volume"] > 0.5


def test_a_year_later_the_free_plan_covers_its_365_days_and_marks_the_rest(seeded, truth, fake_coingecko):
    """BTC across the seam on the free plan a year on: CoinGecko no longer serves 2021-07-07 and
    -08, so they keep Binance's volume (scope `exchange`) and an interpolated, estimated cap."""
    engine = engine_of(seeded)
    today = date(2022, 7, 8)
    end = today - timedelta(days=1)
    ingest(engine, truth, ["BTC"], end)
    fake_coingecko.today = today
    report = refresh_aggregates(engine, ["BTC"], SEAM, end, today=today, client=client_())
    first_covered = today - timedelta(days=364)
    assert report.clipped_before == first_covered == date(2021, 7, 9)
    assert any("history from 2021-07-09 only" in line for line in report.lines())
    coin = WORLD["bitcoin"]
    served = candles(seeded, "BTC", SEAM, end)
    for day in (SEAM, SEAM + timedelta(days=1)):
        row = served[day]
        assert (row["volume_scope"], row["volume_source"], row["volume"]) == (
            "exchange",
            "binance",
            exchange_volume("BTC", day),
        )
        assert (row["marketcap_source"], row["market_cap_estimated"]) == ("binance", True)
        # close x the supply interpolated between the CSVs' last day and CoinGecko's first.
        known = [(LAST_CSV_DAY, csv_supply(truth, "BTC")), (first_covered, coin.supply(first_covered))]
        assert row["market_cap"] == pytest.approx(exchange_close("BTC", day) * supply_on(known, day), rel=1e-12)
        assert row["market_cap"] == pytest.approx(coin.market_cap(day), rel=0.01)
    for day in (first_covered, end - timedelta(days=180), end):
        row = served[day]
        assert row["market_cap"] == pytest.approx(coin.market_cap(day), rel=0.01)
        assert (row["marketcap_source"], row["volume_scope"]) == ("coingecko", "aggregate")
    assert sum(row["volume_scope"] == "exchange" for row in served.values()) == 2


def test_the_pro_plan_covers_the_seam_a_year_later(seeded_sqlite, truth, fake_coingecko):
    engine = engine_of(seeded_sqlite)
    today = date(2022, 7, 8)
    ingest(engine, truth, ["BTC"], today - timedelta(days=1))
    fake_coingecko.today = today
    report = refresh_aggregates(engine, ["BTC"], SEAM, today, today=today, client=client_(PRO_URL, "pro-key"))
    assert report.clipped_before is None
    served = candles(seeded_sqlite, "BTC", SEAM, today)
    assert {row["volume_scope"] for row in served.values()} == {"aggregate"}
    assert served[SEAM]["market_cap"] == pytest.approx(WORLD["bitcoin"].market_cap(SEAM), rel=0.01)


def test_usdt_market_cap_follows_the_moved_supply(seeded_sqlite, truth, fake_coingecko):
    """62.3 B carried from 2021 would make USDT's late-2026 cap a third of the truth (~167 B)."""
    engine = engine_of(seeded_sqlite)
    today = date(2026, 12, 2)
    end = today - timedelta(days=1)
    ingest(engine, truth, ["USDT"], end)
    carried = candles(seeded_sqlite, "USDT", end, end)[end]["market_cap"]
    assert carried == pytest.approx(exchange_close("USDT", end) * csv_supply(truth, "USDT"), rel=1e-12)
    fake_coingecko.today = today
    report = refresh_aggregates(engine, ["USDT"], SEAM, end, today=today, client=client_())
    assert report.ok, report.lines()
    tether = WORLD["tether"]
    served = candles(seeded_sqlite, "USDT", SEAM, end)
    assert tether.supply(end) == pytest.approx(167e9, rel=0.001)
    assert served[end]["market_cap"] == pytest.approx(tether.market_cap(end), rel=0.01)
    assert served[end]["market_cap"] / carried > 2.5
    # Between the CSVs' last supply and CoinGecko's first point: interpolated and marked, never 62.3 B.
    mid = date(2024, 6, 1)
    first_covered = today - timedelta(days=364)
    known = [(LAST_CSV_DAY, csv_supply(truth, "USDT")), (first_covered, tether.supply(first_covered))]
    assert served[mid]["market_cap"] == pytest.approx(exchange_close("USDT", mid) * supply_on(known, mid), rel=1e-12)
    assert served[mid]["market_cap_estimated"] is True
    assert csv_supply(truth, "USDT") * 1.5 < served[mid]["market_cap"] < tether.supply(first_covered) * 1.01
    with engine.connect() as conn:
        supply = conn.execute(
            sa.select(currency_table.c.circulating_supply, currency_table.c.supply_as_of).where(
                currency_table.c.symbol == "USDT"
            )
        ).one()
    assert supply.circulating_supply == tether.supply(today)  # today's figure from /coins/markets
    assert str(supply.supply_as_of) == today.isoformat()


# --- an aggregator that fails --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "kind"),
    [("unreachable", "unreachable"), ("throttle", "rate_limited"), ("bad key", "refused")],
)
def test_a_failing_aggregator_leaves_estimates_marked_and_reports_one_line(
    seeded_sqlite, truth, fake_coingecko, failure, kind
):
    engine = engine_of(seeded_sqlite)
    end = date(2021, 9, 30)
    ingest(engine, truth, ["BTC", "SOL"], end)
    fake_coingecko.today = end + timedelta(days=1)
    gecko = client_(key="wrong" if failure == "bad key" else None)
    if failure == "unreachable":
        fake_coingecko.unreachable = True
    elif failure == "throttle":
        fake_coingecko.throttle, fake_coingecko.retry_after = 100, 600  # past the 30 s deadline
    report = refresh_aggregates(engine, ["BTC", "SOL"], SEAM, end, today=fake_coingecko.today, client=gecko)
    assert report.problem and report.problem.startswith(f"CoinGecko {kind}")
    problem_lines = [line for line in report.lines() if line.startswith("Aggregator: CoinGecko")]
    assert len(problem_lines) == 1
    assert len(fake_coingecko.calls) == 1  # the run stops asking after the first refusal
    served = candles(seeded_sqlite, "BTC", SEAM, end)
    held_until = LAST_CSV_DAY + timedelta(days=SUPPLY_HOLD_DAYS)
    for day, row in served.items():
        assert (row["volume_scope"], row["volume_source"]) == ("exchange", "binance")
        if day <= held_until:
            assert row["market_cap"] == pytest.approx(exchange_close("BTC", day) * csv_supply(truth, "BTC"), rel=1e-12)
            assert (row["market_cap_estimated"], row["marketcap_source"]) == (True, "binance")
        else:  # no known supply near enough: no market cap rather than a stale one
            assert (row["market_cap"], row["marketcap_source"]) == (None, None)
    assert served[held_until + timedelta(days=1)]["market_cap"] is None


def test_a_rerun_changes_nothing(seeded, truth, fake_coingecko):
    engine = engine_of(seeded)
    end = date(2021, 7, 20)
    ingest(engine, truth, ["BTC", "USDT", "SOL"], end)
    fake_coingecko.today = end + timedelta(days=1)
    refresh_aggregates(engine, ["BTC", "USDT", "SOL"], SEAM, end, today=fake_coingecko.today, client=client_())
    first = all_rows(engine)
    again = refresh_aggregates(engine, ["BTC", "USDT", "SOL"], SEAM, end, today=fake_coingecko.today, client=client_())
    assert again.ok
    assert all_rows(engine) == first
    assert [coin.aggregate_days for coin in again.coins] == [14, 14, 14]


def test_an_id_coingecko_does_not_know_is_that_coins_problem_only(seeded_sqlite, truth, fake_coingecko, monkeypatch):
    """A typo in the plan's id for ETH: CoinGecko's 404 is one coin's line, BTC is completed."""
    plan = load_source_plan()
    eth = dataclasses.replace(plan.coin("ETH"), coingecko_id="etherium")
    monkeypatch.setattr(
        aggregates, "load_source_plan", lambda: dataclasses.replace(plan, coins={**plan.coins, "ETH": eth})
    )
    engine = engine_of(seeded_sqlite)
    end = date(2021, 7, 20)
    ingest(engine, truth, ["BTC"], end)
    fake_coingecko.today = end + timedelta(days=1)
    report = refresh_aggregates(engine, ["BTC", "ETH"], SEAM, end, today=fake_coingecko.today, client=client_())
    assert report.problem is None
    by_symbol = {coin.symbol: coin for coin in report.coins}
    assert by_symbol["BTC"].aggregate_days == 14 and by_symbol["BTC"].error is None
    assert "404" in by_symbol["ETH"].error


# --- writes keep lineage ---------------------------------------------------------------------------


def test_written_figures_are_the_writers_and_supply_writes_are_known_points(writable, fake_coingecko):
    client = writable.test_client()
    assert client.put("/api/v1/currencies/aaa/records", json=GOOD_CANDLES, headers=basic("wes")).status_code == 200
    served = candles(writable, "AAA", date(2021, 1, 1), date(2021, 1, 4))
    with_figures, without = served[date(2021, 1, 3)], served[date(2021, 1, 4)]
    assert (with_figures["volume_source"], with_figures["marketcap_source"], with_figures["volume_scope"]) == (
        "api",
        "api",
        "aggregate",
    )
    assert (without["volume"], without["volume_source"], without["marketcap_source"], without["volume_scope"]) == (
        None,
        None,
        None,
        None,
    )
    body = {"name": "Cardano", "symbol": "ADA", "circulating_supply": 1000, "supply_as_of": "2021-01-02"}
    assert client.post("/api/v1/currencies", json=body, headers=basic("wes")).status_code == 201
    rename = {"name": "Alpha", "circulating_supply": 7, "supply_as_of": "2021-01-04"}
    assert client.put("/api/v1/currencies/aaa", json=rename, headers=basic("wes")).status_code == 200
    with writable.app_context(), db.engine.connect() as conn:
        points = conn.execute(
            sa.select(
                currency_table.c.symbol, supply_table.c.date, supply_table.c.circulating_supply, supply_table.c.source
            )
            .join(currency_table, currency_table.c.id == supply_table.c.currency_id)
            .where(supply_table.c.source == "api")
            .order_by(currency_table.c.symbol)
        ).all()
    assert [(symbol, str(day), value, source) for symbol, day, value, source in points] == [
        ("AAA", "2021-01-04", 7.0, "api"),
        ("ADA", "2021-01-02", 1000.0, "api"),
    ]
    # The aggregator's refresh never rewrites a writer's figures.
    before = all_rows(engine_of(writable))
    report = refresh_aggregates(
        engine_of(writable), ["AAA"], date(2021, 1, 1), date(2021, 1, 4), today=date(2021, 1, 5), client=client_()
    )
    assert "no CoinGecko id" in report.coins[0].note and report.ok  # a known state, not a failure
    assert all_rows(engine_of(writable)) == before
    assert fake_coingecko.calls == []


def test_every_bundled_coin_is_completed_in_one_request_each_plus_one(seeded_sqlite, truth, fake_coingecko):
    """23 coins: one /coins/markets for all, one market_chart/range per coin; nothing estimated."""
    engine = engine_of(seeded_sqlite)
    end = date(2021, 7, 13)
    symbols = sorted(truth.coins)
    with engine.begin() as conn:
        for symbol in symbols:
            currency_id = conn.execute(
                sa.select(currency_table.c.id).where(currency_table.c.symbol == symbol)
            ).scalar_one()
            coin = world_coin(load_source_plan().coingecko_id(symbol))
            rows = []
            for n in range((end - SEAM).days + 1):
                day = SEAM + timedelta(days=n)
                close = coin.price(day)
                rows.append((day, close, close, close, close, coin.total_volume(day) / 29, None))
            store_records(conn, currency_id, rows, replace=True, source="binance")
    fake_coingecko.today = end + timedelta(days=1)
    report = refresh_aggregates(engine, symbols, SEAM, end, today=fake_coingecko.today, client=client_())
    assert report.ok, report.lines()
    assert len(symbols) == 23 and report.requests == 24 == len(fake_coingecko.calls)
    assert {coin.symbol: coin.aggregate_days for coin in report.coins} == dict.fromkeys(symbols, 7)
    for symbol in ("ETH", "DOGE", "XMR"):
        day = candles(seeded_sqlite, symbol, end, end)[end]
        coin = world_coin(load_source_plan().coingecko_id(symbol))
        assert day["market_cap"] == pytest.approx(coin.market_cap(end), rel=0.01)
        assert (day["marketcap_source"], day["volume_scope"]) == ("coingecko", "aggregate")
