"""Daily candles from an exchange through ccxt: paging, bounded retries, validation, quote volume.

Volume is stored in the quote currency (the day's traded value), never in coins. Binance's klines
carry the quote asset volume (index 7), read through ccxt's implicit API (`publicGetKlines`);
other exchanges give only base volume through the unified `fetch_ohlcv`, which is converted with
the typical price (high + low + close) / 3 and marked as estimated.

ccxt is imported here only, when ingestion runs; the web app never imports this module.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
PAGE_LIMIT = 1000
# Exchanges whose raw daily klines carry the quote asset volume at index 7 (Binance's format).
QUOTE_VOLUME_KLINES = frozenset({"binance", "binanceus"})
# A quote volume outside [base volume x low, base volume x high] beyond rounding is inconsistent.
QUOTE_VOLUME_TOLERANCE = 1e-6


class UnknownExchangeError(ValueError):
    """ccxt has no exchange of that id (a typo such as `binanse`)."""


class ExchangeFetchError(RuntimeError):
    """The exchange kept failing after the retries; says which request."""


@dataclass
class Page:
    """One page of valid daily rows (RECORD_FIELDS order) and what was skipped."""

    rows: list[tuple]
    skipped: int
    last_day: date | None
    volume_estimated: bool = False


def make_exchange(name: str, **options: Any):
    """A ccxt exchange with its rate limiter on; spot markets only (no futures endpoints)."""
    import ccxt  # heavy: imported only where ingestion runs

    if name not in ccxt.exchanges:
        known = len(ccxt.exchanges)
        raise UnknownExchangeError(f"unknown exchange {name!r}; ccxt knows {known} (e.g. binance, kraken)")
    settings = {"enableRateLimit": True, "options": {"fetchMarkets": {"types": ["spot"]}}}
    settings.update(options)
    return getattr(ccxt, name)(settings)


def retrying(call: Callable[[], Any], what: str, retries: int, backoff: float, sleep: Callable[[float], None]) -> Any:
    """Call with bounded retries and exponential back-off on network errors, 429s and 5xx."""
    import ccxt

    for attempt in range(retries + 1):
        try:
            return call()
        # OperationFailed is ccxt's "transient, worth retrying": network errors, 429
        # (RateLimitExceeded/DDoSProtection), 5xx (ExchangeNotAvailable) and exchange-side failures.
        except ccxt.OperationFailed as error:
            if attempt == retries:
                raise ExchangeFetchError(f"{what}: gave up after {retries + 1} attempts: {error}") from error
            delay = backoff * 2**attempt
            log.warning(
                "%s failed (%s: %s); retry %d/%d in %.1f s",
                what,
                type(error).__name__,
                error,
                attempt + 1,
                retries,
                delay,
            )
            sleep(delay)
    raise AssertionError("unreachable")


def typical_price(high: float, low: float, close: float) -> float:
    """The price estimate that converts a base volume to quote units when no quote volume is given."""
    return (high + low + close) / 3


def validate_candle(candle: list, quote_volume: object = None) -> tuple | str:
    """A row in RECORD_FIELDS order with volume in quote units, or the reason the candle is unusable.

    `quote_volume` is the exchange's own figure; None means "not given": base volume x typical price.
    """
    try:
        timestamp, open_, high, low, close, volume = candle[:6]
        values = [float(v) for v in (open_, high, low, close, volume)]
        quote = None if quote_volume is None else float(quote_volume)
    except (TypeError, ValueError):
        return f"malformed candle {candle!r:.120}"
    if not all(math.isfinite(v) and v >= 0 for v in (*values, quote or 0.0)):
        return f"non-finite or negative value in {candle!r:.120}"
    open_, high, low, close, volume = values
    if not (low <= min(open_, close) and max(open_, close) <= high):
        return f"prices out of order (low <= open, close <= high) in {candle!r:.120}"
    if not isinstance(timestamp, int) or timestamp % DAY_MS:
        return f"not a whole UTC day: {timestamp!r}"
    if quote is None:
        quote = volume * typical_price(high, low, close)
    elif not volume * low * (1 - QUOTE_VOLUME_TOLERANCE) <= quote <= volume * high * (1 + QUOTE_VOLUME_TOLERANCE):
        return f"quote volume {quote} outside base volume x [low, high] in {candle!r:.120}"
    day = datetime.fromtimestamp(timestamp / 1000, tz=UTC).date()
    # Exchanges give no market cap: the caller estimates it from the coin's supply.
    return (day, open_, high, low, close, quote, None)


def fetch_daily(exchange, market: str, since_ms: int, limit: int) -> tuple[list[tuple[list, object]], bool]:
    """One page of (candle, quote volume or None) and whether volumes will be estimated."""
    if exchange.id in QUOTE_VOLUME_KLINES:
        raw = exchange.publicGetKlines(
            {"symbol": exchange.market_id(market), "interval": "1d", "startTime": since_ms, "limit": limit}
        )
        # [open time, o, h, l, c, base volume, close time, quote volume, ...]; a short row is malformed.
        candles = [(k[:6], k[7]) if isinstance(k, list) and len(k) >= 8 else (k, "absent") for k in raw]
        return candles, False
    return [(candle, None) for candle in exchange.fetch_ohlcv(market, "1d", since=since_ms, limit=limit)], True


def daily_pages(
    exchange,
    market: str,
    since: date,
    until: date,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Page]:
    """Pages of daily candles from `since` to `until` (inclusive), following `since`/`limit`."""
    cursor = datetime(since.year, since.month, since.day, tzinfo=UTC)
    end_ms = int(datetime(until.year, until.month, until.day, tzinfo=UTC).timestamp() * 1000)
    while True:
        since_ms = int(cursor.timestamp() * 1000)
        if since_ms > end_ms:
            return
        what = f"{exchange.id} {market} 1d since {cursor.date().isoformat()}"
        fetched, estimated = retrying(
            lambda since_ms=since_ms: fetch_daily(exchange, market, since_ms, PAGE_LIMIT),
            what,
            retries,
            backoff,
            sleep,
        )
        candles = [candle for candle, _ in fetched]
        rows, skipped, newest = [], 0, None
        for candle, quote_volume in fetched:
            if isinstance(candle, list | tuple) and candle and isinstance(candle[0], int) and candle[0] > end_ms:
                continue
            checked = validate_candle(candle, quote_volume)
            if isinstance(checked, str):
                log.warning("%s: skipped %s", what, checked)
                skipped += 1
                continue
            rows.append(checked)
            newest = max(newest, checked[0]) if newest else checked[0]
        timestamps = [c[0] for c in candles if isinstance(c, list | tuple) and c and isinstance(c[0], int)]
        if rows or skipped:
            yield Page(rows=rows, skipped=skipped, last_day=newest, volume_estimated=estimated)
        if not timestamps or max(timestamps) < since_ms:
            return  # nothing newer: the range is covered
        cursor = datetime.fromtimestamp(max(timestamps) / 1000, tz=UTC) + timedelta(days=1)
