"""Recorded-format Binance spot responses served through `responses` (ccxt's HTTP never leaves).

`/api/v3/exchangeInfo` lists BTCUSDT and ADAUSDT; `/api/v3/klines` serves daily candles from a
dict the test controls, honouring `startTime` and `limit` like Binance, and can be told to fail.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

DAY_MS = 86_400_000


def symbol_info(base: str, quote: str) -> dict:
    return {
        "symbol": base + quote,
        "status": "TRADING",
        "baseAsset": base,
        "baseAssetPrecision": 8,
        "quoteAsset": quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "0.01000000",
                "maxPrice": "1000000.00000000",
                "tickSize": "0.01000000",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000.00000000", "stepSize": "0.00001000"},
        ],
        "permissions": ["SPOT", "MARGIN"],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1625616000000,
    "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
    "exchangeFilters": [],
    "symbols": [symbol_info("BTC", "USDT"), symbol_info("ADA", "USDT")],
}


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def kline(day: date, open_: float, high: float, low: float, close: float, volume: float) -> list:
    """One Binance kline: [open time, o, h, l, c, volume, close time, quote volume, trades, ...]."""
    start = day_ms(day)
    return [start, f"{open_:.8f}", f"{high:.8f}", f"{low:.8f}", f"{close:.8f}", f"{volume:.8f}",
            start + DAY_MS - 1, "0", 100, "0", "0", "0"]  # fmt: skip


def synthetic_days(first: date, count: int, base: float = 100.0) -> dict[date, list]:
    """`count` consecutive valid daily klines from `first`."""
    days = {}
    for n in range(count):
        day = first + timedelta(days=n)
        price = base + n
        days[day] = kline(day, price, price * 1.1, price * 0.9, price + 0.5, 1000 + n)
    return days


class FakeBinance:
    """The state behind the mocked endpoints."""

    def __init__(self) -> None:
        self.klines: dict[str, dict[date, list]] = {"BTCUSDT": {}, "ADAUSDT": {}}
        self.failures: list[int] = []  # statuses to answer to the next klines calls, in order
        self.fail_after: int | None = None  # answer 500 to every klines call after this many
        self.kline_calls: list[dict] = []

    def serve_klines(self, request):
        query = {k: v[0] for k, v in parse_qs(urlparse(request.url).query).items()}
        self.kline_calls.append(query)
        if self.fail_after is not None and len(self.kline_calls) > self.fail_after:
            return 500, {}, json.dumps({"code": -1000, "msg": "An unknown error occurred."})
        if self.failures:
            status = self.failures.pop(0)
            body = {"code": -1003, "msg": "Too many requests."} if status == 429 else {"code": -1000, "msg": "error"}
            return status, {}, json.dumps(body)
        start = int(query.get("startTime", 0))
        limit = int(query.get("limit", 500))
        rows = [k for d, k in sorted(self.klines[query["symbol"]].items()) if k[0] >= start][:limit]
        return 200, {}, json.dumps(rows)


@pytest.fixture
def fake_binance() -> Iterator[FakeBinance]:
    fake = FakeBinance()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(r"https://api\.binance\.com/api/v3/exchangeInfo.*"), json=EXCHANGE_INFO)
        mock.add_callback(responses.GET, re.compile(r"https://api\.binance\.com/api/v3/klines.*"), fake.serve_klines)
        yield fake
