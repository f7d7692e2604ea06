"""Store exchange candles by the update plan: one currency per coin, one transaction per page, and
the coin's status (`active`, `delisted`, `stale`) after the run. Plain SQLAlchemy Core; no Flask.

Fetching goes through `utilities/exchange_client.py` (the one ccxt boundary); this module never
sees a ccxt object or exception. A run killed at any point keeps every page already committed, and
a re-run converges to the same rows (upserts on `(currency_id, date)`). Each row is marked with
its exchange's id (or `peg`, a stablecoin priced at its peg because no USD market carries it), its
volume is in quote units and its market cap is estimated as close x the coin's supply last known.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select, update

from utilities.bulk_store import refresh_supply, store_records
from utilities.exchange_client import (
    ExchangeError,
    ExchangePool,
    ExchangeRefused,
    ExchangeSession,
    ExchangeUnreachable,
    MarketUnavailable,
    Page,
)
from utilities.schema import currency_table, dialect_insert, record_table
from utilities.source_plan import Market
from utilities.update_plan import (
    CoinUpdate,
    NotUsdQuotedError,
    StoredCoin,
    check_usd_quote,
    is_current,
)

if TYPE_CHECKING:
    from utilities.aggregates import AggregateReport

# Quote assets whose prices count as US dollars (the USD_QUOTES setting's default).
DEFAULT_USD_QUOTES = ("USD", "USDT", "USDC", "BUSD")
PEG_SOURCE = "peg"
DAY = timedelta(days=1)

__all__ = ["DEFAULT_USD_QUOTES", "NotUsdQuotedError", "ingest_market", "run_update", "stored_coins"]

log = logging.getLogger(__name__)


@dataclass
class IngestSummary:
    """What one market's run stored, skipped and, if it stopped early, why."""

    market: str
    symbol: str = ""
    stored: int = 0
    skipped: int = 0
    pages: int = 0
    first_day: date | None = None
    last_day: date | None = None
    error: str | None = None
    days: list[date] = field(default_factory=list, repr=False)

    def describe(self) -> str:
        stored = f"stored {self.stored} days ({self.first_day} .. {self.last_day})" if self.stored else "stored nothing"
        text = f"{self.market}: {stored}, skipped {self.skipped} bad candles"
        if self.error:
            after = f"after {self.last_day}" if self.last_day else "in the requested range"
            text += f"; FAILED, nothing stored {after}: {self.error}"
        return text

    def add(self, days: list[date], skipped: int) -> None:
        self.pages += 1
        self.skipped += skipped
        self.stored += len(days)
        if days:
            self.first_day = min(days + ([self.first_day] if self.first_day else []))
            self.last_day = max(days + ([self.last_day] if self.last_day else []))


def ensure_currency(engine: Engine, symbol: str, name: str | None) -> int:
    """The currency's id, created (with the exchange's best name) when new."""
    currency = currency_table
    with engine.begin() as conn:
        conn.execute(
            dialect_insert(currency, engine.dialect.name)
            .values(name=(name or symbol)[:100], symbol=symbol)
            .on_conflict_do_nothing()
        )
        return conn.execute(select(currency.c.id).where(currency.c.symbol == symbol)).scalar_one()


def known_supply(engine: Engine, currency_id: int) -> float | None:
    """The coin's circulating supply, derived from its newest reported market cap when not yet stored."""
    currency = currency_table
    with engine.begin() as conn:
        supply = conn.execute(select(currency.c.circulating_supply).where(currency.c.id == currency_id)).scalar()
        if supply is None:
            refresh_supply(conn, currency_id)
            supply = conn.execute(select(currency.c.circulating_supply).where(currency.c.id == currency_id)).scalar()
    return supply


def with_market_cap(rows: list[tuple], supply: float | None) -> list[tuple]:
    """Rows with market cap = close x supply (None when no supply is known)."""
    if supply is None:
        return rows
    return [(*row[:6], row[4] * supply) for row in rows]


def scaled(rows: list[tuple], ratio: float) -> list[tuple]:
    """Prices x ratio (a token swap such as EOS -> A at 1:1); the quote volume is unchanged."""
    if ratio == 1.0:
        return rows
    return [(row[0], *(price * ratio for price in row[1:5]), *row[5:]) for row in rows]


def store_page(
    engine: Engine, currency_id: int, page: Page, *, source: str, supply: float | None, ratio: float
) -> None:
    """One page in one transaction (its commit invalidates cached reads)."""
    with engine.begin() as conn:
        store_records(
            conn,
            currency_id,
            with_market_cap(scaled(page.rows, ratio), supply),
            replace=True,
            source=source,
            volume_estimated=page.volume_estimated,
            marketcap_estimated=supply is not None,
        )


def fetch_into(
    engine: Engine,
    session: ExchangeSession,
    currency_id: int,
    market: Market,
    since: date,
    until: date,
    summary: IngestSummary,
    *,
    today: date | None = None,
    on_page: Callable[[Page], None] | None = None,
) -> None:
    """Fetch one market's days into the coin; raises the client's ExchangeError (pages kept)."""
    supply = known_supply(engine, currency_id)
    for page in session.daily_pages(market.symbol, since, until, today=today):
        store_page(engine, currency_id, page, source=session.id, supply=supply, ratio=market.ratio)
        summary.add([row[0] for row in page.rows], page.skipped)
        if on_page:
            on_page(page)


def ingest_market(
    engine: Engine,
    exchange,
    market: str,
    since: date,
    until: date,
    *,
    usd_quotes: Collection[str] = DEFAULT_USD_QUOTES,
    on_page: Callable[[Page], None] | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    today: date | None = None,
) -> IngestSummary:
    """Fetch and upsert one market named by hand (an ExchangeSession, or a bare ccxt exchange);
    a failure is recorded in the summary. The quote is checked before any request."""
    summary = IngestSummary(market=market)
    try:
        check_usd_quote(market, usd_quotes)
        session = (
            exchange
            if isinstance(exchange, ExchangeSession)
            else ExchangeSession(exchange, retries=retries, backoff=backoff, sleep=sleep)
        )
        info = session.market(market)
        if info is None:
            raise MarketUnavailable(f"{session.id} does not list {market}")
        currency_id = ensure_currency(engine, info.base, info.name)
        summary.symbol = info.base
        plan_market = Market(exchange=session.id, symbol=market)
        fetch_into(engine, session, currency_id, plan_market, since, until, summary, today=today, on_page=on_page)
    except (ExchangeError, NotUsdQuotedError) as error:
        summary.error = str(error)
    if summary.error:
        log.error("%s", summary.describe())
    return summary


@dataclass
class CoinOutcome:
    """One coin after an update: what was stored from where, its status, and what went wrong."""

    symbol: str
    was_current: bool
    sources: list[IngestSummary] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why a candidate was passed over
    errors: list[str] = field(default_factory=list)  # requests that failed (not "not listed")
    last_day: date | None = None
    status: str = "active"
    status_since: date | None = None
    status_reason: str | None = None
    pegged: int = 0

    @property
    def stored(self) -> int:
        return sum(s.stored for s in self.sources) + self.pegged

    end: date | None = None

    @property
    def new_breakage(self) -> bool:
        """A coin whose sources answered lately (it was current) and that failed to reach the run's
        last day now because a request failed: new, unlike a known delisting or a coin long stale."""
        behind = self.last_day is None or (self.end is not None and self.last_day < self.end)
        return self.was_current and behind and bool(self.errors)

    def describe(self) -> str:
        parts = [f"{s.market}: " + s.describe().split(": ", 1)[1] for s in self.sources if s.stored or s.error]
        if self.pegged:
            parts.append(f"{PEG_SOURCE}: {self.pegged} days at the peg (estimated)")
        head = f"{self.symbol}: " + ("; ".join(parts) if parts else "nothing new")
        if self.status != "active":
            head += f"; {self.status.upper()} since {self.status_since}: {self.status_reason}"
        return head


def _try_market(
    engine: Engine,
    pool: ExchangePool,
    outcome: CoinOutcome,
    currency_id: int,
    market: Market,
    since: date,
    until: date,
    *,
    today: date,
    usd_quotes: Collection[str],
    closed_window: bool,
) -> date | None:
    """Fill [since, until] from one candidate; its newest stored day, or None when it gave nothing."""
    label = f"{market.exchange} {market.symbol}"
    try:
        session = pool.session(market.exchange)
        info = session.market(market.symbol)
    except ValueError as error:  # an exchange ccxt does not know (a typo in the plan)
        outcome.notes.append(f"{label}: {error}")
        return None
    except ExchangeError as error:
        outcome.errors.append(f"{market.exchange}: {error}")
        outcome.notes.append(f"{label}: {_short(error)}")
        return None
    if info is None:
        outcome.notes.append(f"{label}: not listed")
        return None
    if info.quote not in usd_quotes:
        outcome.notes.append(f"{label}: quote {info.quote} is not USD-equivalent")
        return None
    # An inactive market is no source for current days; for a window that has closed (a delisted
    # market's history) its old candles are the source.
    if not info.active and not closed_window:
        outcome.notes.append(f"{label}: inactive (the exchange stopped trading it)")
        return None
    summary = IngestSummary(market=label, symbol=outcome.symbol)
    outcome.sources.append(summary)
    try:
        fetch_into(engine, session, currency_id, market, since, until, summary, today=today)
    except ExchangeError as error:
        summary.error = _short(error)
        outcome.errors.append(f"{label}: {error}")
        outcome.notes.append(f"{label}: {_short(error)}")
    if summary.last_day is None:
        outcome.notes.append(f"{label}: no candle since {since}")
    elif not is_current(summary.last_day, until):
        outcome.notes.append(f"{label}: stale, newest candle {summary.last_day}")
    return summary.last_day


def _short(error: Exception) -> str:
    kind = {ExchangeUnreachable: "unreachable", ExchangeRefused: "refused"}.get(type(error), "failed")
    return f"{kind} ({str(error)[:160]})"


def update_coin(
    engine: Engine, pool: ExchangePool, item: CoinUpdate, *, today: date, usd_quotes: Collection[str]
) -> CoinOutcome:
    """Bring one coin up to `item.end`, segment by segment, candidates in order; then its status."""
    outcome = CoinOutcome(symbol=item.symbol, was_current=item.was_current, last_day=item.last_day, end=item.end)
    currency_id = ensure_currency(engine, item.symbol, None)
    for segment in item.segments:
        cursor = segment.start
        for market in segment.markets:
            if is_current(cursor - DAY, segment.end) and cursor > segment.start:
                break  # covered up to the segment's end (within the staleness allowance)
            closed = market.until is not None and market.until < item.end
            newest = _try_market(
                engine,
                pool,
                outcome,
                currency_id,
                market,
                cursor,
                segment.end,
                today=today,
                usd_quotes=usd_quotes,
                closed_window=closed,
            )
            if newest is not None and newest >= cursor:
                cursor = newest + DAY  # the next candidate continues after it: no day twice
                outcome.last_day = max(newest, outcome.last_day or newest)
    if item.peg is not None and not outcome.errors and not is_current(outcome.last_day, item.end):
        outcome.pegged = _store_peg(engine, currency_id, item, outcome.last_day)
        outcome.last_day = item.end if outcome.pegged else outcome.last_day
    _settle_status(engine, currency_id, item, outcome)
    return outcome


def _store_peg(engine: Engine, currency_id: int, item: CoinUpdate, last_day: date | None) -> int:
    """A stablecoin no USD market carries: its peg as the price of each missing day, source `peg`."""
    first = max(item.start, (last_day + DAY) if last_day else item.start)
    days = [first + DAY * n for n in range((item.end - first).days + 1)]
    rows = [(day, item.peg, item.peg, item.peg, item.peg, None, None) for day in days]
    if rows:
        with engine.begin() as conn:
            store_records(conn, currency_id, rows, replace=True, source=PEG_SOURCE, marketcap_estimated=True)
    return len(rows)


def _settle_status(engine: Engine, currency_id: int, item: CoinUpdate, outcome: CoinOutcome) -> None:
    """Active when current; else `stale` (a source failed: we do not know) or `delisted` (every
    candidate answered that it has nothing current), since the coin's last stored day."""
    if is_current(outcome.last_day, item.end):
        outcome.status, outcome.status_since, outcome.status_reason = "active", None, None
    else:
        outcome.status = "stale" if outcome.errors else "delisted"
        outcome.status_since = outcome.last_day
        final = item.segments[-1].markets if item.segments else ()
        reasons = outcome.notes or [f"no source has a candle after {outcome.last_day}"]
        if item.segments and not final:
            reasons = [f"the source plan names no market after {item.segments[-1].start - DAY}"]
        outcome.status_reason = "; ".join(reasons)[:200]
    currency = currency_table
    with engine.begin() as conn:
        conn.execute(
            update(currency)
            .where(currency.c.id == currency_id)
            .values(status=outcome.status, status_since=outcome.status_since, status_reason=outcome.status_reason)
        )


@dataclass
class UpdateReport:
    """A whole update run: each coin's outcome, the requests it cost, and whether anything answered."""

    outcomes: list[CoinOutcome]
    requests: int
    nothing_reachable: bool
    unreachable: list[str]
    seconds: float = 0.0
    aggregates: AggregateReport | None = None  # the aggregator's refresh after the candles (api/ingest_service.py)

    @property
    def new_breakage(self) -> list[CoinOutcome]:
        return [o for o in self.outcomes if o.new_breakage]

    @property
    def failed(self) -> bool:
        """The run exits non-zero only for new breakage, or when no exchange answered at all."""
        return self.nothing_reachable or bool(self.new_breakage)


def run_update(
    engine: Engine,
    items: list[CoinUpdate],
    pool: ExchangePool,
    *,
    today: date,
    usd_quotes: Collection[str] = DEFAULT_USD_QUOTES,
    on_coin: Callable[[CoinOutcome], None] | None = None,
) -> UpdateReport:
    """Update every planned coin; an unreachable exchange costs one failed request per run, not per coin."""
    outcomes = []
    for item in items:
        outcome = update_coin(engine, pool, item, today=today, usd_quotes=usd_quotes)
        outcomes.append(outcome)
        if on_coin:
            on_coin(outcome)
    unreachable = sorted(name for name, s in pool.sessions.items() if s.down is not None)
    return UpdateReport(outcomes, pool.requests, pool.nothing_reachable(), unreachable)


def stored_coins(engine: Engine) -> list[StoredCoin]:
    """Every tracked currency's latest stored day (None when it has none yet) and status."""
    currency, record = currency_table, record_table
    latest = select(func.max(record.c.date)).where(record.c.currency_id == currency.c.id).scalar_subquery()
    with engine.connect() as conn:
        rows = conn.execute(select(currency.c.symbol, latest, currency.c.status)).all()
    return [StoredCoin(symbol, _as_date(day), status or "active") for symbol, day, status in rows]


def latest_stored_days(engine: Engine) -> dict[str, date | None]:
    """Every tracked currency's latest stored day (None when it has none yet)."""
    return {coin.symbol: coin.last_day for coin in stored_coins(engine)}


def _as_date(day) -> date | None:
    return day if isinstance(day, date) or day is None else date.fromisoformat(day)
