"""Recorded exchange responses for the ingestion tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_binance import FakeBinance, binance_answering


@pytest.fixture
def fake_binance() -> Iterator[FakeBinance]:
    """Binance's public API as ccxt sees it, answered from recorded shapes (no network)."""
    with binance_answering() as fake:
        yield fake
