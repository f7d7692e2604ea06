"""Recorded-format Binance spot responses served through `responses` (ccxt's HTTP never leaves).

`/api/v3/exchangeInfo` lists a USDT market for every coin of the bundled CSVs (USDT itself aside)
and BTCEUR; `/api/v3/klines` serves daily candles from a dict the test controls, honouring
`startTime` and `limit` like Binance, and can be told to fail. `SEAM_KLINES` are BTCUSDT and
ETHUSDT daily klines for 2021-07-07 .. 2021-07-20, the two weeks after the CSVs end, in Binance's
format and magnitudes (base volume in coins, quote volume in USDT at index 7).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlparse

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


# The bundled CSVs' coins (USDT is the quote itself: Binance has no USDT/USDT market).
CSV_BASES = ["AAVE", "ADA", "ATOM", "BNB", "BTC", "CRO", "DOGE", "DOT", "EOS", "ETH", "LINK", "LTC", "MIOTA",
             "SOL", "TRX", "UNI", "USDC", "WBTC", "XEM", "XLM", "XMR", "XRP"]  # fmt: skip

EXCHANGE_INFO = {
    "timezone": "UTC",
    "serverTime": 1625616000000,
    "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000}],
    "exchangeFilters": [],
    "symbols": [symbol_info(base, "USDT") for base in CSV_BASES] + [symbol_info("BTC", "EUR")],
}


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def kline(
    day: date, open_: float, high: float, low: float, close: float, volume: float, quote_volume: float | None = None
) -> list:
    """One Binance kline: [open time, o, h, l, c, volume, close time, quote volume, trades, ...].

    The quote volume defaults to the day's volume traded at its volume-weighted price, taken here
    as 40 % of the way from low to high (always inside [volume x low, volume x high]).
    """
    start = day_ms(day)
    if quote_volume is None:
        quote_volume = volume * (low + 0.4 * (high - low))
    return [start, f"{open_:.8f}", f"{high:.8f}", f"{low:.8f}", f"{close:.8f}", f"{volume:.8f}",
            start + DAY_MS - 1, f"{quote_volume:.8f}", 100, "0", "0", "0"]  # fmt: skip


def synthetic_days(first: date, count: int, base: float = 100.0) -> dict[date, list]:
    """`count` consecutive valid daily klines from `first`."""
    days = {}
    for n in range(count):
        day = first + timedelta(days=n)
        price = base + n
        days[day] = kline(day, price, price * 1.1, price * 0.9, price + 0.5, 1000 + n)
    return days


# (open, high, low, close, base volume, quote volume) per day from 2021-07-07, Binance-like figures.
BTC_SEAM = [
    (34220.02, 35059.09, 33777.77, 33862.12, 49100.6, 1689201312.55),
    (33862.11, 33929.64, 32077.00, 32875.71, 71253.2, 2363912504.88),
    (32875.95, 34100.00, 32261.07, 33815.81, 50174.6, 1674112018.42),
    (33815.81, 34262.00, 33004.78, 33502.87, 31664.1, 1064290127.30),
    (33502.87, 34666.00, 33306.47, 34258.99, 27835.6, 945712033.17),
    (34259.00, 34678.43, 32658.34, 33086.63, 48216.0, 1620310450.61),
    (33086.94, 33340.00, 32202.25, 32729.77, 41063.1, 1345809712.04),
    (32729.12, 33114.03, 31550.00, 32820.02, 46777.3, 1511203945.70),
    (32820.03, 33185.25, 31133.00, 31880.00, 51639.6, 1661842376.13),
    (31874.49, 32249.18, 31020.00, 31383.87, 48499.9, 1534115622.96),
    (31383.86, 31955.92, 31164.31, 31520.07, 34012.2, 1073005914.48),
    (31520.07, 32435.00, 31108.97, 31778.56, 35923.7, 1139410127.36),
    (31778.57, 31899.00, 30407.44, 30839.65, 47340.5, 1466032105.26),
    (30839.65, 31063.07, 29278.00, 29790.35, 30013.0, 910551202.88),
]
ETH_SEAM = [
    (2323.71, 2409.00, 2313.10, 2316.33, 483919.7, 1141829541.81),
    (2316.34, 2323.56, 2068.00, 2115.75, 885614.1, 1917012845.33),
    (2115.76, 2194.38, 2052.11, 2150.18, 608012.4, 1293018412.01),
    (2150.19, 2187.00, 2082.14, 2139.30, 396210.5, 847230411.25),
    (2139.31, 2185.57, 2106.55, 2154.12, 334812.3, 720104311.08),
    (2154.13, 2173.24, 2011.00, 2033.51, 531114.8, 1113810240.37),
    (2033.52, 2047.12, 1917.61, 1940.82, 610002.5, 1209931147.14),
    (1940.83, 2005.01, 1889.23, 1994.34, 589201.7, 1149932001.87),
    (1994.35, 2003.12, 1880.00, 1917.91, 612083.9, 1190271022.30),
    (1917.92, 1938.71, 1852.27, 1879.82, 467210.6, 879100201.41),
    (1879.83, 1915.39, 1860.51, 1898.44, 289301.4, 546921008.76),
    (1898.45, 1996.40, 1858.00, 1895.55, 471120.2, 909310421.52),
    (1895.56, 1907.23, 1811.51, 1820.03, 470211.0, 872001337.90),
    (1820.04, 1831.60, 1717.50, 1788.04, 702104.3, 1251208713.44),
]
SEAM_FIRST = date(2021, 7, 7)


def seam_klines(figures: list[tuple]) -> dict[date, list]:
    """The recorded days from 2021-07-07, as Binance klines."""
    days = {}
    for n, (open_, high, low, close, volume, quote_volume) in enumerate(figures):
        day = SEAM_FIRST + timedelta(days=n)
        days[day] = kline(day, open_, high, low, close, volume, quote_volume)
    return days


SEAM_KLINES = {"BTCUSDT": seam_klines(BTC_SEAM), "ETHUSDT": seam_klines(ETH_SEAM)}


class FakeBinance:
    """The state behind the mocked endpoints."""

    def __init__(self) -> None:
        self.klines: dict[str, dict[date, list]] = {"BTCUSDT": {}, "ADAUSDT": {}, "ETHUSDT": {}}
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
        rows = [k for d, k in sorted(self.klines.get(query["symbol"], {}).items()) if k[0] >= start][:limit]
        return 200, {}, json.dumps(rows)


@contextlib.contextmanager
def binance_answering() -> Iterator[FakeBinance]:
    """Binance's public API, recorded: ccxt's HTTP calls are answered by a FakeBinance (`fake_binance`)."""
    fake = FakeBinance()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.GET, re.compile(r"https://api\.binance\.com/api/v3/exchangeInfo.*"), json=EXCHANGE_INFO)
        mock.add_callback(responses.GET, re.compile(r"https://api\.binance\.com/api/v3/klines.*"), fake.serve_klines)
        yield fake
