"""The update plan: which coin, from which source, from which day. A plain function, no I/O.

`plan_update` turns the source plan (`data/sources.toml`), what is stored (each coin's latest day
and status) and the run's last day into one `CoinUpdate` per coin that is behind: the days to fill,
split into segments where the plan's validity windows change (EOS: `EOS/USDT` until 2025-05-26, then
`A/USDT`), each with its candidate markets in order. Quotes are checked here, before any network
call: a market quoted in anything but a USD-equivalent asset is a `NotUsdQuotedError`.
`flask ingest --update`, `flask ingest --symbols` and the backfill jobs all start from this plan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from utilities.source_plan import Market, SourcePlan

# A source (or a coin) whose newest candle is more than this many days before the run's last day
# is stale: the next source is tried, and the coin is not current.
STALE_AFTER_DAYS = 2
DAY = timedelta(days=1)


class NotUsdQuotedError(ValueError):
    """The market's quote asset is not USD-equivalent: its prices cannot join a USD series."""


@dataclass(frozen=True)
class StoredCoin:
    """What the database knows of a coin before the run."""

    symbol: str
    last_day: date | None
    status: str = "active"


@dataclass(frozen=True)
class Segment:
    """Days [start, end] that the same candidate markets carry, in the plan's order."""

    start: date
    end: date
    markets: tuple[Market, ...]


@dataclass(frozen=True)
class CoinUpdate:
    """One coin to bring up to `end`: from `start`, segment by segment; `peg` for a stablecoin."""

    symbol: str
    start: date
    end: date
    segments: tuple[Segment, ...]
    peg: float | None = None
    last_day: date | None = None
    status: str = "active"

    @property
    def was_current(self) -> bool:
        """Whether the coin had a current candle before the run (its sources answered lately)."""
        return is_current(self.last_day, self.end)


def is_current(last_day: date | None, end: date) -> bool:
    """A coin (or source) is current when its newest candle is at most STALE_AFTER_DAYS before `end`."""
    return last_day is not None and last_day >= end - timedelta(days=STALE_AFTER_DAYS)


def quote_of(symbol: str) -> str:
    """The quote asset of a unified market symbol (`BTC/USDT` -> `USDT`)."""
    base, slash, quote = symbol.partition("/")
    if not slash or not base or not quote:
        raise ValueError(f"{symbol!r} is not a market symbol BASE/QUOTE (e.g. BTC/USDT)")
    return quote.split(":")[0].upper()


def check_usd_quote(symbol: str, usd_quotes: Collection[str]) -> None:
    """Refuse a market quoted in anything but a USD-equivalent asset (e.g. BTC/EUR, ETH/BTC)."""
    quote = quote_of(symbol)
    if quote not in usd_quotes:
        raise NotUsdQuotedError(
            f"{symbol}: quote asset {quote} is not USD-equivalent (USD_QUOTES={','.join(usd_quotes)}); "
            "its prices and volumes would mix units in the coin's series"
        )


def candidate_markets(plan: SourcePlan, symbol: str, usd_quotes: Collection[str]) -> tuple[Market, ...]:
    """The coin's markets in order: the plan's own, else each default exchange with each default quote."""
    named = plan.coin(symbol)
    if named is not None:
        markets = named.markets
    else:
        markets = tuple(
            Market(exchange=exchange, symbol=f"{symbol.upper()}/{quote}")
            for exchange in plan.default_exchanges
            for quote in plan.default_quotes
        )
    for market in markets:
        check_usd_quote(market.symbol, usd_quotes)
    return markets


def segments(markets: Iterable[Market], start: date, end: date) -> tuple[Segment, ...]:
    """Split [start, end] where a market's window opens or closes; each piece with its candidates."""
    markets = tuple(markets)
    cuts = {start, end + DAY}
    for market in markets:
        if market.since is not None:
            cuts.add(market.since)
        if market.until is not None:
            cuts.add(market.until + DAY)
    edges = sorted(day for day in cuts if start <= day <= end + DAY)
    pieces = []
    for first, after in pairwise(edges):
        covering = tuple(m for m in markets if m.covers(first))
        pieces.append(Segment(first, after - DAY, covering))
    return tuple(pieces)


def plan_update(
    plan: SourcePlan,
    stored: Iterable[StoredCoin],
    *,
    end: date,
    default_since: date,
    usd_quotes: Collection[str],
    symbols: Collection[str] | None = None,
) -> list[CoinUpdate]:
    """One update per stored coin (or per one of `symbols`) that lacks days up to `end`.

    A coin continues the day after its latest stored day; a coin with no rows starts at
    `default_since`. Coins already through `end` need nothing and are left out."""
    wanted = None if symbols is None else {s.upper() for s in symbols}
    updates = []
    for coin in sorted(stored, key=lambda c: c.symbol):
        if wanted is not None and coin.symbol.upper() not in wanted:
            continue
        start = coin.last_day + DAY if coin.last_day else default_since
        if start > end:
            continue
        markets = candidate_markets(plan, coin.symbol, usd_quotes)
        named = plan.coin(coin.symbol)
        updates.append(
            CoinUpdate(
                symbol=coin.symbol.upper(),
                start=start,
                end=end,
                segments=segments(markets, start, end),
                peg=named.peg if named else None,
                last_day=coin.last_day,
                status=coin.status,
            )
        )
    return updates


def explicit_update(exchange: str, symbol: str, since: date, end: date, usd_quotes: Collection[str]) -> Segment:
    """One market named by hand (`flask ingest --symbols`), quote-checked before any request."""
    check_usd_quote(symbol, usd_quotes)
    return Segment(since, end, (Market(exchange=exchange, symbol=symbol.upper()),))
