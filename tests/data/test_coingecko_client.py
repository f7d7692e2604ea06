"""The CoinGecko client against CoinGecko's documented shapes (tests/support/fake_coingecko.py).

Expected figures come from the fake world's own curves (`Coin.market_cap(day)` is V(D), the
end-of-day value), never from the client.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.support.fake_coingecko import PRO_URL, PUBLIC_URL, WORLD, FakeCoinGecko
from utilities.coingecko import (
    MAX_ATTEMPTS,
    AggregatorBadResponse,
    AggregatorRateLimited,
    AggregatorRefused,
    AggregatorUnreachable,
    CoinGeckoClient,
    HistoryLimitError,
    day_closed_by,
)

TODAY = date(2021, 7, 20)
BTC = WORLD["bitcoin"]


class FakeTime:
    """A clock that only sleeps move: deadlines are tested without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def client(fake_time: FakeTime, base_url: str = PUBLIC_URL, api_key: str | None = None, deadline: float = 30.0):
    return CoinGeckoClient(base_url, api_key, deadline=deadline, sleep=fake_time.sleep, clock=fake_time.clock)


def test_markets_reads_supply_market_cap_and_volume(fake_coingecko, fake_time):
    snapshots = client(fake_time).markets(["bitcoin", "tether", "no-such-coin"])
    assert set(snapshots) == {"bitcoin", "tether"}  # CoinGecko leaves unknown ids out
    tether = snapshots["tether"]
    assert tether.circulating_supply == WORLD["tether"].supply(TODAY)
    assert tether.market_cap == WORLD["tether"].market_cap(TODAY)
    assert tether.total_volume == WORLD["tether"].total_volume(TODAY)
    assert tether.as_of == TODAY
    assert fake_coingecko.calls == ["/api/v3/coins/markets"]  # one request for every coin


@pytest.mark.parametrize(
    ("base_url", "key", "header"),
    [(PUBLIC_URL, "demo-key", "x-cg-demo-api-key"), (PRO_URL, "pro-key", "x-cg-pro-api-key")],
)
def test_the_key_goes_in_the_header_its_plan_documents(fake_coingecko, fake_time, base_url, key, header):
    gecko = client(fake_time, base_url, key)
    assert gecko.session.headers[header] == key
    other = {"x-cg-demo-api-key", "x-cg-pro-api-key"} - {header}
    assert not other & set(gecko.session.headers)
    assert gecko.markets(["bitcoin"])["bitcoin"].circulating_supply == BTC.supply(TODAY)


def test_no_key_sends_no_key_header(fake_time):
    headers = client(fake_time).session.headers
    assert "x-cg-demo-api-key" not in headers and "x-cg-pro-api-key" not in headers


def test_a_short_range_takes_the_last_hourly_point_of_each_day(fake_coingecko, fake_time):
    history = client(fake_time).daily_history("bitcoin", date(2021, 7, 7), date(2021, 7, 19), today=TODAY)
    assert [day.day for day in history.days] == [date(2021, 7, 7) + timedelta(days=n) for n in range(13)]
    for day in history.days:
        last_point = datetime(day.day.year, day.day.month, day.day.day, 23, 3, tzinfo=UTC)
        price, cap, volume = FakeCoinGecko.at(BTC, last_point)
        assert (day.price, day.market_cap, day.total_volume) == (price, cap, volume)
        assert day.market_cap == pytest.approx(BTC.market_cap(day.day), rel=0.01)


def test_a_long_range_takes_the_daily_point_that_closes_each_day(fake_coingecko, fake_time):
    fake_coingecko.today = date(2022, 7, 1)
    history = client(fake_time).daily_history("bitcoin", date(2021, 7, 7), date(2022, 6, 1), today=date(2022, 7, 1))
    assert len(history.days) == 330
    for day in history.days:
        assert day.market_cap == pytest.approx(BTC.market_cap(day.day), rel=1e-12)
        assert day.total_volume == pytest.approx(BTC.total_volume(day.day), rel=1e-12)


def test_today_is_not_a_complete_day(fake_coingecko, fake_time):
    history = client(fake_time).daily_history("bitcoin", date(2021, 7, 15), date(2021, 7, 25), today=TODAY)
    assert history.days[-1].day == TODAY - timedelta(days=1)
    assert history.asked_end == TODAY - timedelta(days=1)


def test_midnight_closes_the_day_before():
    assert day_closed_by(int(datetime(2021, 7, 8, tzinfo=UTC).timestamp() * 1000)) == date(2021, 7, 7)
    assert day_closed_by(int(datetime(2021, 7, 8, 0, 3, tzinfo=UTC).timestamp() * 1000)) == date(2021, 7, 8)


def test_the_free_plan_is_asked_only_for_its_365_days(fake_coingecko, fake_time):
    today = date(2026, 12, 2)
    fake_coingecko.today = today
    history = client(fake_time).daily_history("tether", date(2021, 7, 7), date(2026, 12, 1), today=today)
    first_allowed = today - timedelta(days=364)
    assert history.clipped_before == first_allowed == history.asked_start
    assert history.days[0].day == first_allowed
    assert history.days[-1].market_cap == pytest.approx(WORLD["tether"].market_cap(date(2026, 12, 1)), rel=1e-12)


def test_the_pro_plan_gets_the_whole_range(fake_coingecko, fake_time):
    today = date(2026, 12, 2)
    fake_coingecko.today = today
    history = client(fake_time, PRO_URL, "pro-key").daily_history(
        "tether", date(2021, 7, 7), date(2026, 12, 1), today=today
    )
    assert history.clipped_before is None
    assert history.days[0].day == date(2021, 7, 7)
    assert len(history.days) == (date(2026, 12, 1) - date(2021, 7, 7)).days + 1


def test_the_plan_limit_answer_is_its_own_error(fake_coingecko, fake_time, monkeypatch):
    """A mirror or a changed plan that still refuses old history: error 10012, not a bad key."""
    fake_coingecko.today = date(2026, 12, 2)
    gecko = client(fake_time)
    monkeypatch.setattr(gecko, "earliest_day", lambda today: None)
    with pytest.raises(HistoryLimitError, match="365 days") as caught:
        gecko.daily_history("tether", date(2021, 7, 7), date(2026, 12, 1), today=date(2026, 12, 2))
    assert caught.value.stops_run  # plan-wide: every other coin would be refused too


def test_429_with_retry_after_inside_the_deadline_is_waited_for(fake_coingecko, fake_time):
    fake_coingecko.throttle, fake_coingecko.retry_after = 1, 3
    snapshots = client(fake_time).markets(["bitcoin"])
    assert snapshots["bitcoin"].circulating_supply == BTC.supply(TODAY)
    assert fake_time.slept == [3.0]
    assert len(fake_coingecko.calls) == 2


def test_429_with_retry_after_past_the_deadline_fails_at_once(fake_coingecko, fake_time):
    fake_coingecko.throttle, fake_coingecko.retry_after = 1, 120
    with pytest.raises(AggregatorRateLimited, match="Retry-After 120 s"):
        client(fake_time, deadline=30).markets(["bitcoin"])
    assert fake_time.slept == []
    assert len(fake_coingecko.calls) == 1


def test_429_retries_are_bounded(fake_coingecko, fake_time):
    fake_coingecko.throttle, fake_coingecko.retry_after = 100, 1
    with pytest.raises(AggregatorRateLimited) as caught:
        client(fake_time).markets(["bitcoin"])
    assert caught.value.stops_run
    assert len(fake_coingecko.calls) == MAX_ATTEMPTS
    assert sum(fake_time.slept) == MAX_ATTEMPTS - 1


@pytest.mark.parametrize(("base_url", "key"), [(PUBLIC_URL, "wrong"), (PRO_URL, None), (PRO_URL, "demo-key")])
def test_a_bad_key_is_refused(fake_coingecko, fake_time, base_url, key):
    with pytest.raises(AggregatorRefused, match="401") as caught:
        client(fake_time, base_url, key).markets(["bitcoin"])
    assert caught.value.stops_run
    assert len(fake_coingecko.calls) == 1  # a refusal is not retried


def test_a_blocked_client_is_refused(fake_coingecko, fake_time):
    fake_coingecko.blocked = True
    with pytest.raises(AggregatorRefused, match="403"):
        client(fake_time).markets(["bitcoin"])


@pytest.mark.parametrize("failure", ["unreachable", "timeout"])
def test_no_answer_is_unreachable(fake_coingecko, fake_time, failure):
    setattr(fake_coingecko, failure, True)
    with pytest.raises(AggregatorUnreachable) as caught:
        client(fake_time).daily_history("bitcoin", date(2021, 7, 7), date(2021, 7, 19), today=TODAY)
    assert caught.value.stops_run
    assert len(fake_coingecko.calls) == 1


def test_an_unknown_coin_is_a_bad_response_that_does_not_stop_the_run(fake_coingecko, fake_time):
    with pytest.raises(AggregatorBadResponse, match="404") as caught:
        client(fake_time).daily_history("no-such-coin", date(2021, 7, 7), date(2021, 7, 19), today=TODAY)
    assert not caught.value.stops_run


def test_the_deadline_bounds_the_client(fake_coingecko, fake_time):
    gecko = client(fake_time, deadline=5)
    fake_time.now += 6
    with pytest.raises(AggregatorUnreachable, match="deadline"):
        gecko.markets(["bitcoin"])
    assert fake_coingecko.calls == []


def test_figures_out_of_bounds_are_unknown_not_stored(fake_coingecko, fake_time, monkeypatch):
    real = fake_coingecko.markets

    def hostile(query):
        rows = real(query)
        rows[0] |= {
            "circulating_supply": 10**400,
            "market_cap": float("1e300"),
            "total_volume": -5,
            "current_price": "1",
        }
        return rows

    monkeypatch.setattr(fake_coingecko, "markets", hostile)
    snapshot = client(fake_time).markets(["bitcoin"])["bitcoin"]
    assert (snapshot.circulating_supply, snapshot.market_cap, snapshot.total_volume, snapshot.price) == (
        None,
        None,
        None,
        None,
    )


def test_the_update_run_builds_its_client_from_the_settings(monkeypatch):
    from config import Config
    from utilities.aggregates import client_from_config

    monkeypatch.setattr(Config, "COINGECKO_API_URL", PRO_URL + "/")
    monkeypatch.setattr(Config, "COINGECKO_API_KEY", "pro-key")
    gecko = client_from_config()
    assert (gecko.base_url, gecko.session.headers["x-cg-pro-api-key"], gecko.history_days) == (PRO_URL, "pro-key", None)
