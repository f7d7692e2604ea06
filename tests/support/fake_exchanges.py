"""A faked real world of exchanges at the HTTP level, in each exchange's documented format.

ccxt's own parsing runs on every answer: Binance (`/api/v3/exchangeInfo`, `/api/v3/klines`), OKX
(`/api/v5/public/instruments`, `/api/v5/market/(history-)candles`), Kraken (`/0/public/Assets`,
`AssetPairs`, `OHLC`, which like the real one serves only the latest 720 candles), Bitstamp
(`/api/v2/markets/`, `/api/v2/ohlc/<pair>/`) and Crypto.com (`/exchange/v1/public/get-instruments`,
`get-candlestick`). The listings are those of late 2026, as the issue found them: Binance has no
CRO and no MIOTA (IOTA/USDT instead), XMR, XEM and EOS are `BREAK` (ccxt: inactive) but still
answer their old klines, EOS continues as `A/USDT`, USDC/USDT has a gap of months. Today is
today, UTC (`TODAY`: 2026-12-02 when this was written); every market serves its days up to today
(today's candle still open).

One `FakeWorld.handle` answers both ways of serving: `world_mock` (the `responses` library, in
process) and `serve_world` (a real HTTP server on 127.0.0.1, for a test-started gunicorn, reached
through `EXCHANGE_URL_OVERRIDE`, which prefixes each exchange's path with its id).

Prices are a deterministic function of (coin, day), the same on every exchange, so a test can
compute what must be stored without asking the app (`close_on`).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import responses

DAY_MS = 86_400_000
TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)
CSV_END = date(2021, 7, 6)
SEAM = date(2021, 7, 7)
KRAKEN_OHLC_DEPTH = 720  # Kraken's OHLC endpoint returns at most the latest 720 candles

HOSTS = {
    "binance": "https://api.binance.com",
    "okx": "https://www.okx.com",
    "kraken": "https://api.kraken.com",
    "bitstamp": "https://www.bitstamp.net",
    "cryptocom": "https://api.crypto.com",
}

# A coin's price level on 2021-07-07 (magnitudes of the day), so volumes and caps look real.
LEVELS = {
    "AAVE": 330.0, "ADA": 1.4, "ATOM": 13.0, "BNB": 330.0, "BTC": 34200.0, "CRO": 0.11, "DOGE": 0.23,
    "DOT": 16.0, "EOS": 4.2, "A": 4.2, "ETH": 2320.0, "IOTA": 0.9, "LINK": 20.0, "LTC": 143.0,
    "SOL": 35.0, "TRX": 0.068, "UNI": 21.0, "USDC": 1.0, "USDT": 1.0, "WBTC": 34200.0, "XEM": 0.16,
    "XLM": 0.28, "XMR": 230.0, "XRP": 0.68,
}  # fmt: skip
STABLE = {"USDT", "USDC"}


def day_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def ms_day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def close_on(base: str, day: date) -> float:
    """The coin's close on a day (any exchange): a slow wave around its 2021 level."""
    if base in STABLE:
        return 1.0 + 0.001 * math.sin((day - SEAM).days / 7)
    n = (day - SEAM).days
    return round(LEVELS[base] * (1.5 + math.sin(n / 90) * 0.4 + 0.0002 * n), 8)


def ohlcv_on(base: str, day: date) -> tuple[float, float, float, float, float]:
    """(open, high, low, close, base volume) of the day; open is the previous day's close."""
    close = close_on(base, day)
    open_ = close_on(base, day - timedelta(days=1))
    high, low = max(open_, close) * 1.01, min(open_, close) * 0.99
    volume = round(5e8 / LEVELS[base] * (1 + 0.3 * math.cos((day - SEAM).days / 11)), 4)
    return open_, high, low, close, volume


def quote_volume_on(base: str, day: date) -> float:
    """Binance's and OKX's quote volume: the base volume at 40 % of the way from low to high."""
    _, high, low, _, volume = ohlcv_on(base, day)
    return volume * (low + 0.4 * (high - low))


@dataclass
class Listing:
    """One market on one exchange: the days it has candles for, and whether it is trading."""

    base: str
    quote: str
    first: date = date(2017, 1, 1)
    last: date | None = None  # None: up to today (its candle still open)
    trading: bool = True
    gaps: tuple[tuple[date, date], ...] = ()

    def days(self, start: date, end: date) -> list[date]:
        """Its candle days within [start, end], oldest first."""
        first, last = max(start, self.first), min(end, self.last or TODAY)
        out, day = [], first
        while day <= last:
            if not any(a <= day <= b for a, b in self.gaps):
                out.append(day)
            day += timedelta(days=1)
        return out


def usdt(*bases: str, **kwargs) -> dict[str, Listing]:
    return {f"{b}/USDT": Listing(b, "USDT", **kwargs) for b in bases}


def usd(*bases: str, **kwargs) -> dict[str, Listing]:
    return {f"{b}/USD": Listing(b, "USD", **kwargs) for b in bases}


def real_world_listings() -> dict[str, dict[str, Listing]]:
    """The listings of late 2026 (the issue's findings), per exchange."""
    binance = usdt("AAVE", "ADA", "ATOM", "BNB", "BTC", "DOGE", "DOT", "ETH", "IOTA", "LINK", "LTC", "SOL", "TRX",
                   "UNI", "WBTC", "XLM", "XRP")  # fmt: skip
    binance |= {
        "XMR/USDT": Listing("XMR", "USDT", last=date(2024, 2, 20), trading=False),
        "XEM/USDT": Listing("XEM", "USDT", last=date(2024, 6, 17), trading=False),
        "EOS/USDT": Listing("EOS", "USDT", last=date(2025, 5, 26), trading=False),
        "A/USDT": Listing("A", "USDT", first=date(2025, 5, 27)),
        "USDC/USDT": Listing("USDC", "USDT", gaps=((date(2022, 9, 29), date(2023, 3, 13)),)),
        "BTC/EUR": Listing("BTC", "EUR"),
    }
    okx = usdt("AAVE", "ADA", "ATOM", "BNB", "BTC", "CRO", "DOGE", "DOT", "ETH", "IOTA", "LINK", "LTC", "SOL", "TRX",
               "UNI", "XLM", "XRP")  # fmt: skip
    kraken = usd("BTC", "ETH", "XMR", "USDT", "USDC", "ADA", "DOT", "SOL", "LINK")
    bitstamp = usd("BTC", "ETH", "USDT", "USDC", "XRP", "LTC")
    cryptocom = usdt("CRO", "BTC", "ETH")
    return {"binance": binance, "okx": okx, "kraken": kraken, "bitstamp": bitstamp, "cryptocom": cryptocom}


def _json(status: int, body: object) -> tuple[int, dict, str]:
    return status, {"Content-Type": "application/json"}, json.dumps(body)


@dataclass
class FakeWorld:
    """The state behind every faked endpoint; tests change listings and failures freely."""

    listings: dict[str, dict[str, Listing]] = field(default_factory=real_world_listings)
    unreachable: set[str] = field(default_factory=set)  # connection refused (offline)
    blocked: dict[str, int] = field(default_factory=dict)  # every answer of that exchange, e.g. 451
    failures: dict[str, list[int]] = field(default_factory=dict)  # statuses for the next requests
    requests: list[tuple[str, str]] = field(default_factory=list)  # (exchange, path) answered
    attempts: list[tuple[str, str]] = field(default_factory=list)  # every request, answered or not
    queries: list[tuple[str, str, dict]] = field(default_factory=list)  # (exchange, path, query) answered
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, exchange: str | None = None, path_part: str = "") -> int:
        return sum(1 for ex, path in self.requests if (exchange in (None, ex)) and path_part in path)

    def handle(self, exchange: str, path: str, query: dict[str, str]) -> tuple[int, dict, str] | None:
        """The answer to one GET, or None for "connection refused"."""
        with self.lock:
            self.attempts.append((exchange, path))
            if exchange in self.unreachable:
                return None
            self.requests.append((exchange, path))
            self.queries.append((exchange, path, query))
            if exchange in self.blocked:
                return _blocked(self.blocked[exchange])
            pending = self.failures.get(exchange)
            if pending:
                return _blocked(pending.pop(0))
        return getattr(self, f"_{exchange}")(path, query)

    def _markets(self, exchange: str) -> dict[str, Listing]:
        return self.listings.get(exchange, {})

    def _range(self, listing: Listing, start_ms: int, end_ms: int) -> list[date]:
        return listing.days(ms_day(max(start_ms, 0) + DAY_MS - 1), ms_day(end_ms))

    # Binance: https://developers.binance.com/docs/binance-spot-api-docs/rest-api/market-data-endpoints
    def _binance(self, path: str, query: dict[str, str]):
        markets = {f"{m.base}{m.quote}": m for m in self._markets("binance").values()}
        if path == "/api/v3/exchangeInfo":
            symbols = [binance_symbol(m) for m in markets.values()]
            return _json(200, {"timezone": "UTC", "serverTime": day_ms(TODAY), "rateLimits": [],
                               "exchangeFilters": [], "symbols": symbols})  # fmt: skip
        if path == "/api/v3/klines":
            listing = markets.get(query.get("symbol", ""))
            if listing is None:
                return _json(400, {"code": -1121, "msg": "Invalid symbol."})
            limit = min(int(query.get("limit", 500)), 1000)
            start = int(query.get("startTime", 0))
            end = int(query.get("endTime", day_ms(TODAY) + DAY_MS - 1))
            days = self._range(listing, start, end)[:limit]
            return _json(200, [binance_kline(listing.base, d) for d in days])
        return _json(404, {"code": -1, "msg": "not found"})

    # OKX: https://www.okx.com/docs-v5/en/#public-data-rest-api-get-instruments, get-candlesticks(-history)
    def _okx(self, path: str, query: dict[str, str]):
        markets = {f"{m.base}-{m.quote}": m for m in self._markets("okx").values()}
        if path == "/api/v5/public/instruments":
            return _json(200, {"code": "0", "msg": "", "data": [okx_instrument(m) for m in markets.values()]})
        if path in ("/api/v5/market/candles", "/api/v5/market/history-candles"):
            listing = markets.get(query.get("instId", ""))
            if listing is None:
                return _json(200, {"code": "51001", "msg": "Instrument ID does not exist", "data": []})
            limit = min(int(query.get("limit", 100)), 300 if path.endswith("/candles") else 100)
            before = int(query.get("before", 0))  # exclusive lower bound
            after = int(query.get("after", day_ms(TODAY) + DAY_MS))  # exclusive upper bound
            days = [d for d in self._range(listing, before + 1, after - 1) if before < day_ms(d) < after]
            newest_first = [okx_candle(listing.base, d) for d in reversed(days)][:limit]
            return _json(200, {"code": "0", "msg": "", "data": newest_first})
        return _json(404, {"code": "50000", "msg": "not found"})

    # Kraken: https://docs.kraken.com/api-reference/market-data/get-ohlc-data
    def _kraken(self, path: str, query: dict[str, str]):
        markets = {kraken_pair(m): m for m in self._markets("kraken").values()}
        if path == "/0/public/Assets":
            codes = {kraken_asset(m.base) for m in markets.values()} | {kraken_asset(m.quote) for m in markets.values()}
            assets = {code: {"aclass": "currency", "altname": kraken_altname(code), "decimals": 10,
                             "display_decimals": 5, "status": "enabled"} for code in sorted(codes)}  # fmt: skip
            return _json(200, {"error": [], "result": assets})
        if path == "/0/public/AssetPairs":
            return _json(200, {"error": [], "result": {pair: kraken_asset_pair(m) for pair, m in markets.items()}})
        if path == "/0/public/OHLC":
            pair = query.get("pair", "")
            listing = markets.get(pair)
            if listing is None:
                return _json(200, {"error": ["EQuery:Unknown asset pair"]})
            latest = listing.days(date(2000, 1, 1), TODAY)[-KRAKEN_OHLC_DEPTH:]
            since = int(query.get("since", 0))
            rows = [kraken_candle(listing.base, d) for d in latest if day_ms(d) // 1000 > since]
            return _json(200, {"error": [], "result": {pair: rows, "last": day_ms(latest[-1]) // 1000}})
        return _json(404, {"error": ["EGeneral:Unknown method"]})

    # Bitstamp: https://www.bitstamp.net/api/#tag/Market-info/operation/GetOHLCData
    def _bitstamp(self, path: str, query: dict[str, str]):
        markets = {f"{m.base}{m.quote}".lower(): m for m in self._markets("bitstamp").values()}
        if path == "/api/v2/markets/":
            return _json(200, [bitstamp_market(m) for m in markets.values()])
        found = re.fullmatch(r"/api/v2/ohlc/([a-z0-9]+)/", path)
        if found:
            listing = markets.get(found.group(1))
            if listing is None:
                return _json(404, {"code": "404", "message": "Not found"})
            start = int(query.get("start", 0)) * 1000
            end = int(query.get("end", day_ms(TODAY) // 1000)) * 1000
            days = self._range(listing, start - DAY_MS + 1, end)[: min(int(query.get("limit", 1000)), 1000)]
            pair = f"{listing.base}/{listing.quote}"
            return _json(200, {"data": {"pair": pair, "ohlc": [bitstamp_candle(listing.base, d) for d in days]}})
        return _json(404, {"code": "404", "message": "Not found"})

    # Crypto.com: https://exchange-docs.crypto.com/exchange/v1/rest-ws/index.html#public-get-candlestick
    def _cryptocom(self, path: str, query: dict[str, str]):
        markets = {f"{m.base}_{m.quote}": m for m in self._markets("cryptocom").values()}
        if path == "/exchange/v1/public/get-instruments":
            data = [cryptocom_instrument(m) for m in markets.values()]
            return _json(200, {"id": 1, "method": "public/get-instruments", "code": 0, "result": {"data": data}})
        if path == "/exchange/v1/public/get-candlestick":
            name = query.get("instrument_name", "")
            listing = markets.get(name)
            if listing is None:
                return _json(400, {"id": -1, "method": "public/get-candlestick", "code": 40004, "message": "Invalid"})
            start = int(query.get("start_ts", 0))
            end = int(query.get("end_ts", day_ms(TODAY) + DAY_MS))
            days = [d for d in self._range(listing, start, end) if start <= day_ms(d) <= end]
            days = days[: min(int(query.get("count", 25)), 300)]  # oldest first, from start_ts
            data = [cryptocom_candle(listing.base, d) for d in days]
            result = {"interval": "1D", "data": data, "instrument_name": name}
            return _json(200, {"id": -1, "method": "public/get-candlestick", "code": 0, "result": result})
        return _json(404, {"code": 40401, "message": "Not found"})


def _blocked(status: int) -> tuple[int, dict, str]:
    """What each refusal looks like: Binance's 451 text, a 429 with Retry-After, a bare 5xx."""
    if status == 451:
        msg = "Service unavailable from a restricted location according to 'b. Eligibility' in Terms of Use."
        return _json(451, {"code": 0, "msg": msg})
    if status == 429:
        body = json.dumps({"code": -1003, "msg": "Too many requests"})
        return 429, {"Retry-After": "1", "Content-Type": "application/json"}, body
    return status, {"Content-Type": "text/html"}, "<html><body>Service Unavailable</body></html>"


def binance_symbol(m: Listing) -> dict:
    return {
        "symbol": f"{m.base}{m.quote}", "status": "TRADING" if m.trading else "BREAK", "baseAsset": m.base,
        "baseAssetPrecision": 8, "quoteAsset": m.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True,
        "cancelReplaceAllowed": True, "isSpotTradingAllowed": m.trading, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000001", "maxPrice": "1000000.00000000",
             "tickSize": "0.00000001"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000000.00000000", "stepSize": "0.00001000"},
        ],
        "permissions": [], "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }  # fmt: skip


def binance_kline(base: str, day: date) -> list:
    o, h, low, c, v = ohlcv_on(base, day)
    start = day_ms(day)
    return [start, f"{o:.8f}", f"{h:.8f}", f"{low:.8f}", f"{c:.8f}", f"{v:.8f}", start + DAY_MS - 1,
            f"{quote_volume_on(base, day):.8f}", 1000, "0", "0", "0"]  # fmt: skip


def okx_instrument(m: Listing) -> dict:
    return {
        "alias": "", "baseCcy": m.base, "category": "1", "ctMult": "", "ctType": "", "ctVal": "", "ctValCcy": "",
        "expTime": "", "instFamily": "", "instId": f"{m.base}-{m.quote}", "instType": "SPOT", "lever": "10",
        "listTime": str(day_ms(m.first)), "lotSz": "0.00000001", "maxIcebergSz": "9999999999", "maxLmtAmt": "20000000",
        "maxLmtSz": "9999999999", "maxMktAmt": "1000000", "maxMktSz": "", "maxStopSz": "", "maxTriggerSz": "",
        "maxTwapSz": "", "minSz": "0.00001", "optType": "", "quoteCcy": m.quote, "settleCcy": "", "state":
        "live" if m.trading else "suspend", "stk": "", "tickSz": "0.00000001", "uly": "",
    }  # fmt: skip


def okx_candle(base: str, day: date) -> list:
    o, h, low, c, v = ohlcv_on(base, day)
    quote = quote_volume_on(base, day)
    confirm = "0" if day == TODAY else "1"
    return [str(day_ms(day)), f"{o:.8f}", f"{h:.8f}", f"{low:.8f}", f"{c:.8f}", f"{v:.8f}", f"{quote:.8f}",
            f"{quote:.8f}", confirm]  # fmt: skip


def kraken_asset(code: str) -> str:
    """Kraken's own asset codes: XXBT, ZUSD, XETH, XXMR...; newer assets keep their ticker."""
    legacy = {"BTC": "XXBT", "ETH": "XETH", "XMR": "XXMR", "LTC": "XLTC", "XRP": "XXRP", "USD": "ZUSD"}
    return legacy.get(code, code)


def kraken_altname(code: str) -> str:
    return {"XXBT": "XBT", "XETH": "ETH", "XXMR": "XMR", "XLTC": "LTC", "XXRP": "XRP", "ZUSD": "USD"}.get(code, code)


def kraken_pair(m: Listing) -> str:
    base, quote = kraken_asset(m.base), kraken_asset(m.quote)
    return base + quote if len(base) == 4 and base[0] == "X" else f"{m.base}{m.quote}"


def kraken_asset_pair(m: Listing) -> dict:
    base, quote = kraken_asset(m.base), kraken_asset(m.quote)
    return {
        "altname": f"{kraken_altname(base)}{kraken_altname(quote)}", "wsname": f"{kraken_altname(base)}/{m.quote}",
        "aclass_base": "currency", "base": base, "aclass_quote": "currency", "quote": quote, "lot": "unit",
        "cost_decimals": 5, "pair_decimals": 5, "lot_decimals": 8, "lot_multiplier": 1, "leverage_buy": [],
        "leverage_sell": [], "fees": [[0, 0.4], [10000, 0.35]], "fees_maker": [[0, 0.25], [10000, 0.2]],
        "fee_volume_currency": "ZUSD", "margin_call": 80, "margin_stop": 40, "ordermin": "0.0001",
        "costmin": "0.5", "tick_size": "0.00001", "status": "online" if m.trading else "delisted",
    }  # fmt: skip


def kraken_candle(base: str, day: date) -> list:
    o, h, low, c, v = ohlcv_on(base, day)
    vwap = low + 0.4 * (h - low)
    return [day_ms(day) // 1000, f"{o:.5f}", f"{h:.5f}", f"{low:.5f}", f"{c:.5f}", f"{vwap:.5f}", f"{v:.8f}", 5000]


def bitstamp_market(m: Listing) -> dict:
    return {
        "name": f"{m.base}/{m.quote}", "market_symbol": f"{m.base}{m.quote}".lower(), "base_currency": m.base,
        "base_decimals": 8, "counter_currency": m.quote, "counter_decimals": 5, "minimum_order_value": "10",
        "trading": "Enabled" if m.trading else "Disabled", "instant_order_counter_decimals": 2,
        "instant_and_market_orders": "Enabled", "description": f"{m.base} / {m.quote}", "market_type": "SPOT",
    }  # fmt: skip


def bitstamp_candle(base: str, day: date) -> dict:
    o, h, low, c, v = ohlcv_on(base, day)
    return {"high": f"{h:.5f}", "timestamp": str(day_ms(day) // 1000), "volume": f"{v:.8f}", "low": f"{low:.5f}",
            "close": f"{c:.5f}", "open": f"{o:.5f}"}  # fmt: skip


def cryptocom_instrument(m: Listing) -> dict:
    return {
        "symbol": f"{m.base}_{m.quote}", "inst_type": "CCY_PAIR", "display_name": f"{m.base}/{m.quote}",
        "base_ccy": m.base, "quote_ccy": m.quote, "quote_decimals": 6, "quantity_decimals": 2,
        "price_tick_size": "0.000001", "qty_tick_size": "0.01", "max_leverage": "10", "tradable": m.trading,
        "expiry_timestamp_ms": 0, "beta_product": False, "margin_buy_enabled": False, "margin_sell_enabled": False,
    }  # fmt: skip


def cryptocom_candle(base: str, day: date) -> dict:
    o, h, low, c, v = ohlcv_on(base, day)
    return {"o": f"{o:.8f}", "h": f"{h:.8f}", "l": f"{low:.8f}", "c": f"{c:.8f}", "v": f"{v:.4f}", "t": day_ms(day)}


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


@contextmanager
def world_mock(world: FakeWorld) -> Iterator[FakeWorld]:
    """Serve `world` to ccxt in process (`responses`); any other host is unreachable, as offline."""
    import requests

    def answer(exchange: str):
        def callback(request):
            result = world.handle(exchange, urlparse(request.url).path, _query(request.url))
            if result is None:
                raise requests.ConnectionError(f"[Errno 111] Connection refused: {request.url}")
            return result

        return callback

    def elsewhere(request):  # coinbase, kucoin...: not in this world, as if offline
        with world.lock:
            world.attempts.append((urlparse(request.url).hostname or "", urlparse(request.url).path))
        raise requests.ConnectionError(f"[Errno -3] Temporary failure in name resolution: {request.url}")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for exchange, host in HOSTS.items():
            mock.add_callback(responses.GET, re.compile(re.escape(host) + r"/.*"), answer(exchange))
        # Every other host (responses would reuse overlapping matches in turn: exclude the world's).
        known = "|".join(re.escape(host) for host in HOSTS.values())
        mock.add_callback(responses.GET, re.compile(rf"(?!(?:{known})/)https?://.*"), elsewhere)
        yield world


class _Handler(BaseHTTPRequestHandler):
    world: FakeWorld

    def do_GET(self) -> None:
        parsed = urlparse(self.path)
        exchange, _, rest = parsed.path.lstrip("/").partition("/")
        result = self.world.handle(exchange, "/" + rest, _query(self.path)) if exchange in HOSTS else None
        if result is None:
            self.send_response(502)
            self.end_headers()
            return
        status, headers, body = result
        data = body.encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args) -> None:
        pass


@contextmanager
def serve_world(world: FakeWorld) -> Iterator[str]:
    """Serve `world` over HTTP on 127.0.0.1; yields the `EXCHANGE_URL_OVERRIDE` value."""
    handler = type("WorldHandler", (_Handler,), {"world": world})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
