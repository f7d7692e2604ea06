"""Recorded exchange and aggregator responses for the ingestion tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_binance import FakeBinance, binance_answering
from tests.support.fake_coingecko import FakeCoinGecko, coingecko_answering


@pytest.fixture
def fake_binance() -> Iterator[FakeBinance]:
    """Binance's public API as ccxt sees it, answered from recorded shapes (no network)."""
    with binance_answering() as fake:
        yield fake


@pytest.fixture
def fake_coingecko() -> Iterator[FakeCoinGecko]:
    """CoinGecko's public and Pro hosts, answered by the fake world (nothing leaves the machine)."""
    with coingecko_answering() as fake:
        yield fake
