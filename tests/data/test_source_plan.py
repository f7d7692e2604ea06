"""The source plan shipped with the project (data/sources.toml) covers every bundled coin soundly."""

from __future__ import annotations

from datetime import timedelta

import ccxt
import pytest

from tests.support.truth import CsvTruth
from utilities.source_plan import load_source_plan
from utilities.update_plan import quote_of

USD = {"USD", "USDT", "USDC"}


@pytest.fixture(scope="module")
def plan():
    return load_source_plan()


def test_every_bundled_coin_is_named_with_its_coingecko_id(plan, truth: CsvTruth):
    assert sorted(plan.coins) == sorted(truth.coins)
    ids = [coin.coingecko_id for coin in plan.coins.values()]
    assert all(ids) and len(set(ids)) == len(ids)
    assert plan.symbol_for_coingecko_id("bitcoin") == "BTC" and plan.coingecko_id("MIOTA") == "iota"


def test_every_market_is_a_ccxt_exchange_with_a_usd_quote(plan):
    for coin in plan.coins.values():
        assert coin.markets, coin.symbol
        for market in coin.markets:
            assert market.exchange in ccxt.exchanges, (coin.symbol, market.exchange)
            assert quote_of(market.symbol) in USD, (coin.symbol, market.symbol)
            assert market.ratio > 0
    assert set(plan.default_exchanges) <= set(ccxt.exchanges) and set(plan.default_quotes) <= USD


def test_the_eos_swap_leaves_no_gap_and_no_overlap(plan):
    eos = plan.coin("EOS").markets
    until = {m.until for m in eos if m.until}
    since = {m.since for m in eos if m.since}
    assert len(until) == len(since) == 1
    assert next(iter(until)) + timedelta(days=1) == next(iter(since))
    assert {m.symbol for m in eos if m.since} == {"A/USDT"}


def test_renames_and_listings_follow_the_exchanges(plan):
    assert {m.symbol for m in plan.coin("MIOTA").markets} == {"IOTA/USDT"}  # ccxt and Binance say IOTA
    assert "binance" not in {m.exchange for m in plan.coin("CRO").markets}  # Binance never listed CRO
    for symbol in ("USDT", "USDC"):
        coin = plan.coin(symbol)
        assert coin.peg == 1.0 and quote_of(coin.markets[0].symbol) == "USD"  # priced against the dollar


def test_a_stablecoin_is_never_priced_in_itself(plan):
    for coin in plan.coins.values():
        assert all(quote_of(m.symbol) != coin.symbol for m in coin.markets), coin.symbol
