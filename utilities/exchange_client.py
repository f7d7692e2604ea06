"""The one ccxt boundary: exchanges, their markets, daily candles, and ccxt's errors in the project's terms.

Every ccxt call of the project is in this module, and ccxt's exceptions never leave it: they become
`ExchangeRefused` (451/403: a region block or a ban, never retried), `ExchangeUnreachable` (no HTTP
answer at all: offline, DNS, refused connection) or `ExchangeFetchError` (the exchange answered,
but kept failing: 429s, 5xx, after bounded retries). An `ExchangeSession` loads an exchange's
markets once per run and remembers an unreachable exchange, so no coin retries it again; a
`Deadline` bounds a whole run.

Volume is stored in the quote currency (the day's traded value), never in coins. Binance's klines
carry the quote asset volume (index 7), read through ccxt's implicit API (`publicGetKlines`);
other exchanges give only base volume through the unified `fetch_ohlcv`, which is converted with
the typical price (high + low + close) / 3 and marked as estimated.

ccxt is imported here only, when ingestion runs; the web app never imports this module.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
PAGE_LIMIT = 1000
# Candles per request each exchange honours in full (ccxt's fetch_ohlcv asks for a window of
# `limit` days; OKX's history endpoint then returns only the newest 100 of it, Crypto.com 300).
PAGE_LIMITS = {"okx": 100, "cryptocom": 300, "kraken": 720, "coinbase": 300, "kucoin": 1500, "bybit": 1000}
# Exchanges whose raw daily klines carry the quote asset volume at index 7 (Binance's format).
QUOTE_VOLUME_KLINES = frozenset({"binance", "binanceus"})
# A quote volume outside [base volume x low, base volume x high] beyond rounding is inconsistent.
QUOTE_VOLUME_TOLERANCE = 1e-6
# HTTP answers that say "not from here" (a region block, a ban): retrying cannot help.
REFUSED_STATUSES = frozenset({401, 403, 418, 451})
# The market list is one request: a transient failure gets this many more attempts, not five.
MARKET_RETRIES = 2
REQUEST_TIMEOUT_MS = 10_000


class UnknownExchangeError(ValueError):
    """ccxt has no exchange of that id (a typo such as `binanse`)."""


class ExchangeError(RuntimeError):
    """An exchange could not give what was asked; the message says which request and why."""


class ExchangeFetchError(ExchangeError):
    """The exchange answered but kept failing (429, 5xx) after the bounded retries."""


class ExchangeUnreachable(ExchangeFetchError):
    """No HTTP answer at all (offline, DNS, connection refused, timeouts), or the run's deadline passed."""


class ExchangeRefused(ExchangeError):
    """HTTP 451/403/401/418: the exchange refuses this client (e.g. a region block); never retried."""


class MarketUnavailable(ExchangeError):
    """The exchange does not list the market (or answers that it does not know it)."""


class Deadline:
    """A run's deadline on the monotonic clock: retries and requests stop once it has passed."""

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.ends = None if seconds is None else clock() + seconds

    def remaining(self) -> float:
        return math.inf if self.ends is None else max(0.0, self.ends - self.clock())

    def expired(self) -> bool:
        return self.remaining() <= 0


@dataclass(frozen=True)
class MarketInfo:
    """What a run needs to know of one market: its unified symbol, assets and whether it trades."""

    symbol: str
    base: str
    quote: str
    active: bool
    name: str | None = None  # the base asset's full name when the exchange gives one


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
    settings = {
        "enableRateLimit": True,
        "timeout": REQUEST_TIMEOUT_MS,
        "options": {"fetchMarkets": {"types": ["spot"]}},
    }
    settings.update(options)
    return getattr(ccxt, name)(settings)


def point_to(exchange, base_url: str) -> None:
    """Send every API call of `exchange` to `base_url`/<exchange id> (a mirror, a proxy, the test world)."""
    prefix = f"{base_url.rstrip('/')}/{exchange.id}"

    def rewrite(value):
        if isinstance(value, str):
            return re.sub(r"^https?://[^/]+", prefix, value)
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])


def retrying(
    call: Callable[[], Any],
    what: str,
    retries: int,
    backoff: float,
    sleep: Callable[[float], None],
    *,
    deadline: Deadline | None = None,
    last_status: Callable[[], int | None] = lambda: None,
) -> Any:
    """Call with bounded retries and exponential back-off on network errors, 429s and 5xx.

    A refusal (451, 403) is raised at once; a back-off that would pass the deadline is not slept.
    Any other ccxt error (an unknown symbol, a malformed answer) becomes ExchangeFetchError."""
    import ccxt

    for attempt in range(retries + 1):
        try:
            return call()
        except ccxt.BaseError as error:
            status = last_status()
            if status in REFUSED_STATUSES:
                raise ExchangeRefused(f"{what}: refused with HTTP {status} (not retried): {error}") from error
            if isinstance(error, ccxt.BadSymbol):
                raise MarketUnavailable(f"{what}: {error}") from error
            # OperationFailed is ccxt's "transient, worth retrying": network errors, 429
            # (RateLimitExceeded/DDoSProtection), 5xx (ExchangeNotAvailable) and exchange-side failures.
            if not isinstance(error, ccxt.OperationFailed):
                raise ExchangeFetchError(f"{what}: {type(error).__name__}: {error}") from error
            unanswered = status is None and isinstance(error, ccxt.NetworkError)
            kind = ExchangeUnreachable if unanswered else ExchangeFetchError
            delay = backoff * 2**attempt
            if attempt == retries:
                raise kind(f"{what}: gave up after {retries + 1} attempts: {error}") from error
            if deadline is not None and deadline.remaining() < delay:
                raise kind(f"{what}: stopped, the run's deadline is near ({attempt + 1} attempts): {error}") from error
            name = type(error).__name__
            log.warning("%s failed (%s: %s); retry %d/%d in %.1f s", what, name, error, attempt + 1, retries, delay)
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


def _utc_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def daily_pages(
    exchange,
    market: str,
    since: date,
    until: date,
    *,
    retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    deadline: Deadline | None = None,
    last_status: Callable[[], int | None] = lambda: None,
    today: date | None = None,
) -> Iterator[Page]:
    """Pages of daily candles from `since` to `until` (inclusive), following `since`/`limit`.

    A candle dated after today (UTC) is never yielded, whatever `until` says."""
    today = today or datetime.now(UTC).date()
    until = min(until, today)
    limit = PAGE_LIMITS.get(exchange.id, PAGE_LIMIT)
    cursor = since
    end_ms = _utc_ms(until)
    while True:
        since_ms = _utc_ms(cursor)
        if since_ms > end_ms:
            return
        what = f"{exchange.id} {market} 1d since {cursor.isoformat()}"
        fetched, estimated = retrying(
            lambda since_ms=since_ms: fetch_daily(exchange, market, since_ms, limit),
            what,
            retries,
            backoff,
            sleep,
            deadline=deadline,
            last_status=last_status,
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
        cursor = datetime.fromtimestamp(max(timestamps) / 1000, tz=UTC).date() + timedelta(days=1)


@dataclass
class ExchangeSession:
    """One exchange for one run: markets loaded once, requests counted, an unreachable exchange
    remembered (later calls fail at once, without a request), every call under the run's deadline."""

    exchange: Any
    retries: int = 5
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    deadline: Deadline = field(default_factory=lambda: Deadline(None))
    market_retries: int = MARKET_RETRIES
    requests: int = 0
    down: ExchangeError | None = None
    _status: int | None = None
    _markets: dict[str, MarketInfo] | None = None

    def __post_init__(self) -> None:
        fetch, on_response = self.exchange.fetch, self.exchange.on_rest_response

        def counted_fetch(*args, **kwargs):
            self.requests += 1
            self._status = None  # stays None when no HTTP answer arrives
            self.exchange.timeout = int(min(REQUEST_TIMEOUT_MS, max(self.deadline.remaining(), 0.001) * 1000))
            return fetch(*args, **kwargs)

        def remember_status(code, reason, url, method, headers, body, *rest):
            self._status = code
            return on_response(code, reason, url, method, headers, body, *rest)

        self.exchange.fetch = counted_fetch
        self.exchange.on_rest_response = remember_status

    @classmethod
    def open(cls, name: str, *, url_override: str | None = None, **settings: Any) -> ExchangeSession:
        """A session on a new ccxt exchange (pointed at `url_override`/<id> when given)."""
        exchange = make_exchange(name)
        if url_override:
            point_to(exchange, url_override)
        return cls(exchange, **settings)

    @property
    def id(self) -> str:
        return self.exchange.id

    def _call(self, call: Callable[[], Any], what: str, retries: int) -> Any:
        if self.down is not None:
            raise self.down
        if self.deadline.expired():
            raise ExchangeUnreachable(f"{what}: not tried, the run's deadline has passed")
        try:
            return retrying(
                call, what, retries, self.backoff, self.sleep, deadline=self.deadline, last_status=lambda: self._status
            )
        except (ExchangeUnreachable, ExchangeRefused) as error:
            self.down = error  # no coin asks this exchange again in this run
            raise

    def markets(self) -> dict[str, MarketInfo]:
        """The exchange's spot markets by unified symbol, loaded once per session."""
        if self._markets is None:
            try:
                self._call(self.exchange.load_markets, f"{self.id} markets", self.market_retries)
            except ExchangeError as error:
                self.down = error  # without its market list the exchange is no source for this run
                raise
            names = {code: (info or {}).get("name") for code, info in (self.exchange.currencies or {}).items()}
            self._markets = {
                symbol: MarketInfo(
                    symbol=symbol,
                    base=str(m["base"]).upper(),
                    quote=str(m["quote"]).upper(),
                    active=m.get("active") is not False,
                    name=names.get(m["base"]),
                )
                for symbol, m in self.exchange.markets.items()
            }
        return self._markets

    def market(self, symbol: str) -> MarketInfo | None:
        """One market, or None when the exchange does not list it."""
        return self.markets().get(symbol)

    def daily_pages(self, symbol: str, since: date, until: date, today: date | None = None) -> Iterator[Page]:
        """Pages of the market's daily candles (see `daily_pages`), under this session's bounds."""
        if self.down is not None:
            raise self.down
        pages = daily_pages(
            self.exchange,
            symbol,
            since,
            until,
            retries=self.retries,
            backoff=self.backoff,
            sleep=self.sleep,
            deadline=self.deadline,
            last_status=lambda: self._status,
            today=today,
        )
        try:
            yield from pages
        except (ExchangeUnreachable, ExchangeRefused) as error:
            self.down = error
            raise


@dataclass
class ExchangePool:
    """The run's exchanges: one session each, created on first use, sharing the run's deadline.

    Once one exchange is unreachable, the others get no market retries: offline, each costs one
    failed request, so a run that reaches nothing says so within seconds."""

    deadline: Deadline = field(default_factory=lambda: Deadline(None))
    url_override: str | None = None
    retries: int = 5
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    sessions: dict[str, ExchangeSession] = field(default_factory=dict)

    def session(self, name: str) -> ExchangeSession:
        """The session of exchange `name` (ValueError when ccxt does not know it)."""
        if name not in self.sessions:
            suspect = any(isinstance(s.down, ExchangeUnreachable) for s in self.sessions.values())
            self.sessions[name] = ExchangeSession.open(
                name,
                url_override=self.url_override,
                retries=self.retries,
                backoff=self.backoff,
                sleep=self.sleep,
                deadline=self.deadline,
                market_retries=0 if suspect else MARKET_RETRIES,
            )
        return self.sessions[name]

    @property
    def requests(self) -> int:
        return sum(session.requests for session in self.sessions.values())

    def nothing_reachable(self) -> bool:
        """True when every exchange this run asked was unreachable or refused it."""
        sessions = self.sessions.values()
        return bool(self.sessions) and all(isinstance(s.down, ExchangeUnreachable | ExchangeRefused) for s in sessions)
