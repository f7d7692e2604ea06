"""The update plan as a plain function: which coin, from which source, from which day (no I/O)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from utilities.source_plan import Market, load_source_plan, parse_source_plan
from utilities.update_plan import (
    NotUsdQuotedError,
    Segment,
    StoredCoin,
    check_usd_quote,
    explicit_update,
    is_current,
    plan_update,
    segments,
)

USD = ("USD", "USDT", "USDC", "BUSD")
END = date(2026, 12, 1)
SINCE = date(2017, 1, 1)


def plan(*stored: StoredCoin, symbols=None, end=END):
    return plan_update(load_source_plan(), stored, end=end, default_since=SINCE, usd_quotes=USD, symbols=symbols)


def test_a_coin_continues_the_day_after_its_latest_stored_day():
    (btc,) = plan(StoredCoin("BTC", date(2021, 7, 6)))
    assert (btc.symbol, btc.start, btc.end, btc.last_day) == ("BTC", date(2021, 7, 7), END, date(2021, 7, 6))
    (segment,) = btc.segments
    assert [(m.exchange, m.symbol) for m in segment.markets] == [
        ("binance", "BTC/USDT"), ("okx", "BTC/USDT"), ("kraken", "BTC/USD")
    ]  # fmt: skip


def test_a_coin_through_the_end_needs_nothing_and_a_new_one_starts_at_the_default():
    assert plan(StoredCoin("BTC", END)) == []
    (new,) = plan(StoredCoin("ETH", None))
    assert new.start == SINCE


def test_eos_is_split_at_the_swap_with_no_gap_and_no_overlap():
    (eos,) = plan(StoredCoin("EOS", date(2021, 7, 6)))
    assert [(s.start, s.end, [m.symbol for m in s.markets]) for s in eos.segments] == [
        (date(2021, 7, 7), date(2025, 5, 26), ["EOS/USDT", "EOS/USDT"]),
        (date(2025, 5, 27), END, ["A/USDT"]),
    ]
    assert [m.exchange for m in eos.segments[0].markets] == ["binance", "okx"]


def test_a_coin_past_its_last_window_has_a_segment_without_markets():
    (xem,) = plan(StoredCoin("XEM", date(2024, 6, 16)))
    assert xem.segments == (Segment(date(2024, 6, 17), END, ()),)


def test_miota_is_iota_and_stablecoins_have_a_peg_and_usd_markets():
    (miota,) = plan(StoredCoin("MIOTA", date(2021, 7, 6)))
    assert {m.symbol for m in miota.segments[0].markets} == {"IOTA/USDT"}
    (usdt,) = plan(StoredCoin("USDT", date(2021, 7, 6)))
    assert usdt.peg == 1.0 and {m.symbol for m in usdt.segments[0].markets} == {"USDT/USD"}


def test_a_coin_the_plan_does_not_name_uses_the_default_order():
    (coin,) = plan(StoredCoin("PEPE", None))
    source = load_source_plan()
    expected = [(e, f"PEPE/{q}") for e in source.default_exchanges for q in source.default_quotes]
    assert [(m.exchange, m.symbol) for m in coin.segments[0].markets] == expected


def test_symbols_narrow_the_plan_case_insensitively():
    stored = [StoredCoin("BTC", date(2021, 7, 6)), StoredCoin("ETH", date(2021, 7, 6))]
    assert [c.symbol for c in plan(*stored, symbols=["eth"])] == ["ETH"]


def test_segments_cut_where_windows_open_and_close():
    a = Market("x", "A/USD", until=date(2024, 1, 10))
    b = Market("y", "A/USD", since=date(2024, 1, 5))
    pieces = segments([a, b], date(2024, 1, 1), date(2024, 1, 20))
    assert [(p.start, p.end, [m.exchange for m in p.markets]) for p in pieces] == [
        (date(2024, 1, 1), date(2024, 1, 4), ["x"]),
        (date(2024, 1, 5), date(2024, 1, 10), ["x", "y"]),
        (date(2024, 1, 11), date(2024, 1, 20), ["y"]),
    ]
    days = [p.start + timedelta(days=n) for p in pieces for n in range((p.end - p.start).days + 1)]
    assert days == [date(2024, 1, 1) + timedelta(days=n) for n in range(20)]  # every day exactly once


def test_quotes_are_checked_before_any_request():
    check_usd_quote("BTC/USDT", USD)
    with pytest.raises(NotUsdQuotedError, match="quote asset EUR is not USD-equivalent"):
        check_usd_quote("BTC/EUR", USD)
    with pytest.raises(NotUsdQuotedError):
        explicit_update("binance", "ETH/BTC", SINCE, END, USD)
    with pytest.raises(ValueError, match="not a market symbol"):
        check_usd_quote("BTCUSDT", USD)
    bad = parse_source_plan({"coins": {"X": {"markets": [{"exchange": "kraken", "symbol": "X/EUR"}]}}})
    with pytest.raises(NotUsdQuotedError):
        plan_update(bad, [StoredCoin("X", None)], end=END, default_since=SINCE, usd_quotes=USD)


@pytest.mark.parametrize(
    ("last_day", "current"),
    [(END, True), (END - timedelta(days=2), True), (END - timedelta(days=3), False), (None, False)],
)
def test_a_coin_more_than_two_days_behind_is_not_current(last_day, current):
    assert is_current(last_day, END) is current
    (item,) = plan(StoredCoin("BTC", last_day), end=END + timedelta(days=1)) or [None]
    assert item.was_current is is_current(last_day, END + timedelta(days=1))
