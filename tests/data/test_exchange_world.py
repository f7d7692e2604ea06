"""`flask ingest --update` against the faked real world of late 2026 (tests/support/fake_exchanges.py).

The bundled CSVs end on 2021-07-06; one update must bring every bundled coin to yesterday, or mark
it delisted with its day, through ccxt's own parsing of each exchange's documented answers.
Expected prices come from the fake world's own formula (`close_on`), never from the app.
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from api.extensions import db
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fake_exchanges import (
    HOSTS,
    KRAKEN_OHLC_DEPTH,
    SEAM,
    TODAY,
    YESTERDAY,
    FakeWorld,
    close_on,
    ms_day,
    quote_volume_on,
    world_mock,
)
from tests.support.services import BACKENDS, new_database_url

BUNDLED = ["AAVE", "ADA", "ATOM", "BNB", "BTC", "CRO", "DOGE", "DOT", "EOS", "ETH", "LINK", "LTC", "MIOTA", "SOL",
           "TRX", "UNI", "USDC", "USDT", "WBTC", "XEM", "XLM", "XMR", "XRP"]  # fmt: skip
ALL_DAYS = (YESTERDAY - SEAM).days + 1
EOS_SWAP = date(2025, 5, 27)
XEM_LAST = date(2024, 6, 16)  # the plan's window: Binance delisted XEM on 2024-06-17
XMR_BINANCE_LAST = date(2024, 2, 19)
KRAKEN_FIRST = TODAY - timedelta(days=KRAKEN_OHLC_DEPTH - 1)  # the oldest candle Kraken still serves


def seeded(request, backend: str, folder) -> object:
    app = make_app(new_database_url(request, backend, folder), INGEST_BACKOFF_SECONDS=0.0)
    migrate_and_seed(app)
    return app


def update(app, world: FakeWorld, *args: str):
    """`flask ingest --update` in the world; (result, wall seconds)."""
    started = time.monotonic()
    with world_mock(world):
        result = app.test_cli_runner().invoke(args=["ingest", "--update", *args])
    return result, time.monotonic() - started


def rows(app, symbol: str, since: date = SEAM) -> dict[date, tuple]:
    """day -> (close, volume, source) of the coin's records from `since`."""
    with app.app_context(), db.engine.connect() as conn:
        found = conn.execute(
            sa.text(
                "SELECT r.date, r.close, r.volume, r.source FROM record r JOIN currency c ON c.id = r.currency_id "
                "WHERE c.symbol = :s AND r.date >= :d ORDER BY r.date"
            ),
            {"s": symbol, "d": since},
        ).all()
    return {(r[0] if isinstance(r[0], date) else date.fromisoformat(r[0])): tuple(r[1:]) for r in found}


def statuses(app) -> dict[str, tuple]:
    with app.app_context(), db.engine.connect() as conn:
        found = conn.execute(sa.text("SELECT symbol, status, status_since, status_reason FROM currency")).all()
    return {r[0]: (r[1], _day(r[2]), r[3]) for r in found}


def _day(value) -> date | None:
    return value if value is None or isinstance(value, date) else date.fromisoformat(value)


@pytest.fixture(scope="module", params=BACKENDS)
def updated(request, tmp_path_factory):
    """The bundled data, then one update in the real world of late 2026 (read-only for the tests)."""
    app = seeded(request, request.param, tmp_path_factory.mktemp("world"))
    world = FakeWorld()
    result, seconds = update(app, world)
    app.first = (result, seconds, list(world.requests))
    print(f"\n[{request.param}] gap fill: {seconds:.1f} s, {len(world.requests)} requests")
    yield app, world, result
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(params=BACKENDS)
def fresh(request, tmp_path):
    app = seeded(request, request.param, tmp_path)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_one_update_makes_every_bundled_coin_current_or_delisted_with_its_day(updated):
    app, _, result = updated
    assert result.exit_code == 0, result.output
    found = statuses(app)
    assert sorted(found) == BUNDLED
    for symbol in BUNDLED:
        if symbol == "XEM":
            assert found[symbol][:2] == ("delisted", XEM_LAST)
            assert "2024-06-16" in found[symbol][2]
            assert max(rows(app, symbol)) == XEM_LAST
        else:
            assert found[symbol] == ("active", None, None), symbol
            assert max(rows(app, symbol)) == YESTERDAY, symbol
    assert "22 active, 1 delisted, 0 stale" in result.output


def test_prices_and_quote_volumes_are_the_exchanges_own(updated):
    app, _, _ = updated
    btc = rows(app, "BTC")
    assert len(btc) == ALL_DAYS
    for day in (SEAM, date(2024, 3, 1), YESTERDAY):
        close, volume, source = btc[day]
        assert (close, source) == (pytest.approx(close_on("BTC", day), rel=1e-9), "binance")
        assert volume == pytest.approx(quote_volume_on("BTC", day), rel=1e-9)  # dollars (index 7), not coins


def test_eos_continues_as_a_with_no_gap_and_no_day_fetched_twice(updated):
    app, world, _ = updated
    eos = rows(app, "EOS")
    assert sorted(eos) == [SEAM + timedelta(days=n) for n in range(ALL_DAYS)]  # no gap
    assert all(eos[d][0] == pytest.approx(close_on("EOS", d), rel=1e-9) for d in eos if d < EOS_SWAP)
    assert all(eos[d][0] == pytest.approx(close_on("A", d), rel=1e-9) for d in eos if d >= EOS_SWAP)  # ratio 1
    klines = [q for ex, path, q in world.queries if ex == "binance" and path.endswith("/klines")]
    eos_starts = [ms_day(int(q["startTime"])) for q in klines if q["symbol"] == "EOSUSDT"]
    a_starts = [ms_day(int(q["startTime"])) for q in klines if q["symbol"] == "AUSDT"]
    assert eos_starts and max(eos_starts) < EOS_SWAP and min(a_starts) == EOS_SWAP  # each day asked of one market


def test_miota_comes_from_iota_and_cro_from_crypto_com(updated):
    app, world, _ = updated
    miota, cro = rows(app, "MIOTA"), rows(app, "CRO")
    assert len(miota) == len(cro) == ALL_DAYS
    assert {s for _, _, s in miota.values()} == {"binance"}
    assert miota[YESTERDAY][0] == pytest.approx(close_on("IOTA", YESTERDAY), rel=1e-9)
    assert {s for _, _, s in cro.values()} == {"cryptocom"}
    symbols = {q.get("symbol") for ex, path, q in world.queries if ex == "binance" and path.endswith("/klines")}
    assert not {"CROUSDT", "MIOTAUSDT", "USDTUSDT"} & symbols  # never asked for what Binance does not list


def test_an_inactive_market_is_no_source_for_current_days(updated):
    app, world, _ = updated
    xmr = rows(app, "XMR")
    assert max(d for d, r in xmr.items() if r[2] == "binance") == XMR_BINANCE_LAST
    assert min(d for d, r in xmr.items() if r[2] == "kraken") == KRAKEN_FIRST  # Kraken serves 720 days
    missing = [d for d in (SEAM + timedelta(days=n) for n in range(ALL_DAYS)) if d not in xmr]
    gap = (KRAKEN_FIRST - XMR_BINANCE_LAST).days - 1
    assert missing == [XMR_BINANCE_LAST + timedelta(days=n + 1) for n in range(gap)]
    starts = [ms_day(int(q["startTime"])) for ex, p, q in world.queries if q.get("symbol") == "XMRUSDT"]
    assert max(starts) <= XMR_BINANCE_LAST  # its old klines are asked only for the window that closed


def test_stablecoins_are_priced_against_usd(updated):
    app, _, _ = updated
    for symbol in ("USDT", "USDC"):
        found = rows(app, symbol)
        assert len(found) == ALL_DAYS and {s for _, _, s in found.values()} == {"bitstamp"}
        assert found[YESTERDAY][0] == pytest.approx(close_on(symbol, YESTERDAY), abs=1e-5)  # 5 decimals


def test_markets_are_loaded_once_per_exchange(updated):
    app, _, _ = updated
    first_requests = app.first[2]
    for exchange, path in [("binance", "/api/v3/exchangeInfo"), ("okx", "/api/v5/public/instruments"),
                           ("kraken", "/0/public/AssetPairs"), ("bitstamp", "/api/v2/markets/"),
                           ("cryptocom", "/exchange/v1/public/get-instruments")]:  # fmt: skip
        assert first_requests.count((exchange, path)) <= 1, exchange


def test_a_second_run_fetches_nothing_and_exits_0(updated):
    app, _, _ = updated
    world = FakeWorld()
    result, seconds = update(app, world)
    print(f"\nno-op run: {seconds:.2f} s, {len(world.attempts)} requests")
    assert result.exit_code == 0, result.output
    assert world.attempts == []  # the coins are current; XEM's plan names no market after its window
    assert "1 coins behind" in result.output and "0 requests" in result.output
    assert statuses(app)["XEM"][:2] == ("delisted", XEM_LAST)


def test_a_stale_source_is_failed_over(fresh):
    world = FakeWorld()
    world.listings["binance"]["UNI/USDT"].last = TODAY - timedelta(days=10)  # still TRADING, no new candle
    result, _ = update(fresh, world)
    assert result.exit_code == 0, result.output
    uni = rows(fresh, "UNI")
    assert len(uni) == ALL_DAYS
    assert max(d for d, r in uni.items() if r[2] == "binance") == TODAY - timedelta(days=10)
    assert {r[2] for d, r in uni.items() if d > TODAY - timedelta(days=10)} == {"okx"}
    assert statuses(fresh)["UNI"][0] == "active"


def test_offline_says_once_that_no_exchange_is_reachable_and_stops(fresh):
    world = FakeWorld(unreachable=set(HOSTS))
    result, seconds = update(fresh, world)
    print(f"\noffline run: {seconds:.2f} s, {len(world.attempts)} attempts")
    assert result.exit_code == 1
    assert result.output.count("No exchange is reachable") == 1
    assert world.requests == []
    markets = [a for a in world.attempts if a[1] in ("/api/v3/exchangeInfo", "/api/v5/public/instruments")]
    assert markets.count(("binance", "/api/v3/exchangeInfo")) == 3  # one request and MARKET_RETRIES
    assert len(world.attempts) <= 3 + 6  # then one attempt per other exchange: none is retried per coin
    assert all(not path.endswith(("klines", "candles", "OHLC")) for _, path in world.attempts)
    assert {status for status, *_ in statuses(fresh).values()} == {"stale"}  # unknown, not delisted


def test_451_is_not_retried_and_other_exchanges_take_over(fresh):
    world = FakeWorld(blocked={"binance": 451})
    result, _ = update(fresh, world)
    assert result.exit_code == 0, result.output  # the bundled coins were not current: known, not new
    assert world.requests.count(("binance", "/api/v3/exchangeInfo")) == 1
    assert world.count("binance") == 1
    assert "refused with HTTP 451" in result.output
    found = statuses(fresh)
    assert found["BTC"][0] == "active" and {r[2] for r in rows(fresh, "BTC").values()} == {"okx"}
    assert found["WBTC"][0] == "stale" and "451" in found["WBTC"][2]  # only Binance carries it here


def test_429_and_5xx_are_retried(fresh):
    world = FakeWorld(failures={"binance": [429, 503]})
    result, _ = update(fresh, world, "--symbols", "BTC")
    assert result.exit_code == 0, result.output
    assert world.attempts[:3] == [("binance", "/api/v3/exchangeInfo")] * 3
    assert max(rows(fresh, "BTC")) == YESTERDAY


def test_a_source_that_answered_yesterday_and_fails_today_exits_nonzero(fresh):
    result, _ = update(fresh, FakeWorld(), "--until", (YESTERDAY - timedelta(days=1)).isoformat())
    assert result.exit_code == 0, result.output
    result, _ = update(fresh, FakeWorld(failures={"binance": [503] * 40}), "--symbols", "WBTC,BTC")
    assert result.exit_code == 1
    assert "new breakage: WBTC had current candles" in result.output  # BTC went on at OKX
    assert max(rows(fresh, "BTC")) == YESTERDAY and max(rows(fresh, "WBTC")) == YESTERDAY - timedelta(days=1)
    # Still within the two days a coin may lag: active, but the failure is reported and exits 1.
    assert statuses(fresh)["WBTC"][0] == "active"


def test_a_non_usd_quote_is_refused_before_any_request(fresh):
    world = FakeWorld()
    with world_mock(world):
        result = fresh.test_cli_runner().invoke(
            args=["ingest", "--symbols", "BTC/EUR", "--since", "2021-07-07", "--until", "2021-07-08"]
        )
    assert result.exit_code == 1
    assert "quote asset EUR is not USD-equivalent" in result.output
    assert world.attempts == []


def test_a_candle_dated_after_today_is_never_stored(fresh):
    world = FakeWorld()
    world.listings["binance"]["BTC/USDT"].last = TODAY + timedelta(days=5)  # a clock gone wrong upstream
    future = TODAY + timedelta(days=10)
    with world_mock(world):
        result = fresh.test_cli_runner().invoke(
            args=["ingest", "--symbols", "BTC/USDT", "--since", YESTERDAY.isoformat(), "--until", future.isoformat()]
        )
    assert result.exit_code == 0, result.output
    assert max(rows(fresh, "BTC")) == TODAY


def test_the_run_deadline_stops_retries_before_they_are_slept():
    from utilities.exchange_client import Deadline, ExchangeFetchError, ExchangeSession, ExchangeUnreachable

    now = [0.0]
    deadline = Deadline(10.0, clock=lambda: now[0])
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    world = FakeWorld(failures={"binance": [503] * 100})
    with world_mock(world):
        session = ExchangeSession.open("binance", market_retries=5, backoff=2.0, sleep=sleep, deadline=deadline)
        with pytest.raises(ExchangeFetchError, match="deadline is near"):
            session.markets()
        assert sleeps == [2.0, 4.0]  # 2 + 4 = 6 s slept; the next 8 s would pass the 10 s deadline
        assert world.count("binance") == 3
        now[0] = 11.0
        other = ExchangeSession.open("okx", deadline=deadline)
        with pytest.raises(ExchangeUnreachable, match="deadline has passed"):
            other.markets()
    assert world.count("okx") == 0  # past the deadline nothing is asked


def test_update_refuses_a_market_where_it_expects_a_coin(fresh):
    result = fresh.test_cli_runner().invoke(args=["ingest", "--update", "--symbols", "BTC/USDT"])
    assert result.exit_code == 2 and "coins" in result.output


def test_a_stablecoin_no_usd_market_carries_is_priced_at_its_peg_and_marked(fresh):
    from utilities.exchange_client import ExchangePool
    from utilities.exchange_ingest import run_update
    from utilities.source_plan import parse_source_plan
    from utilities.update_plan import StoredCoin, plan_update

    plan = parse_source_plan({"coins": {"USDT": {"peg": 1.0, "markets": [
        {"exchange": "bitstamp", "symbol": "USDT/USD"}, {"exchange": "kraken", "symbol": "USDT/USD"}]}}})  # fmt: skip
    world = FakeWorld()
    del world.listings["bitstamp"]["USDT/USD"], world.listings["kraken"]["USDT/USD"]
    last = YESTERDAY - timedelta(days=10)
    items = plan_update(plan, [StoredCoin("USDT", last)], end=YESTERDAY, default_since=SEAM, usd_quotes=("USD",))
    with world_mock(world), fresh.app_context():
        report = run_update(db.engine, items, ExchangePool(backoff=0.0), today=TODAY, usd_quotes=("USD",))
    (outcome,) = report.outcomes
    assert (outcome.pegged, outcome.status, report.failed) == (10, "active", False)
    pegged = rows(fresh, "USDT", last + timedelta(days=1))
    assert sorted(pegged) == [last + timedelta(days=n + 1) for n in range(10)]
    assert set(pegged.values()) == {(1.0, None, "peg")}  # price = the peg, no volume, source says so
    assert "bitstamp USDT/USD: not listed" in outcome.notes


def test_offline_a_stablecoin_is_not_pegged(fresh):
    result, _ = update(fresh, FakeWorld(unreachable=set(HOSTS)), "--symbols", "USDT")
    assert result.exit_code == 1 and rows(fresh, "USDT") == {}  # unknown is not "no USD market"
