"""Store an exchange's daily candles: one currency per base asset, one transaction per page.

A run killed at any point keeps every page already committed, and a re-run converges to the
same rows (upserts on `(currency_id, date)`). Only markets quoted in a USD-equivalent asset are
stored (one unit per series); each row is marked with the exchange's id, its volume is in quote
units and its market cap is estimated as close x the coin's supply last known. Plain SQLAlchemy
Core; no Flask.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, func, select

from utilities.bulk_store import refresh_supply, store_records
from utilities.exchange_client import ExchangeFetchError, Page, daily_pages, retrying
from utilities.schema import currency_table, dialect_insert, record_table

# Quote assets whose prices count as US dollars (the USD_QUOTES setting's default).
DEFAULT_USD_QUOTES = ("USD", "USDT", "USDC", "BUSD")


class NotUsdQuotedError(ValueError):
    """The market's quote asset is not USD-equivalent: its prices cannot join a USD series."""


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


def currency_for_market(engine: Engine, exchange, market: str) -> tuple[int, str]:
    """The currency of the market's base asset, created (with the exchange's best name) when new."""
    details = exchange.market(market)
    symbol = details["base"].upper()
    known = (exchange.currencies or {}).get(details["base"]) or {}
    name = known.get("name") or symbol  # many exchanges (Binance's public API) give only the code
    currency = currency_table
    with engine.begin() as conn:
        conn.execute(
            dialect_insert(currency, engine.dialect.name)
            .values(name=name[:100], symbol=symbol)
            .on_conflict_do_nothing()
        )
        currency_id = conn.execute(select(currency.c.id).where(currency.c.symbol == symbol)).scalar_one()
    return currency_id, symbol


def check_usd_quote(exchange, market: str, usd_quotes: Collection[str]) -> None:
    """Refuse a market quoted in anything but a USD-equivalent asset (e.g. BTC/EUR, ETH/BTC)."""
    quote = str(exchange.market(market)["quote"]).upper()
    if quote not in usd_quotes:
        raise NotUsdQuotedError(
            f"quote asset {quote} is not USD-equivalent (USD_QUOTES={','.join(usd_quotes)}); "
            "its prices and volumes would mix units in the coin's series"
        )


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
) -> IngestSummary:
    """Fetch and upsert one market's daily candles; a failure is recorded in the summary."""
    import ccxt  # only where ingestion runs

    summary = IngestSummary(market=market)
    try:
        retrying(exchange.load_markets, f"{exchange.id} markets", retries, backoff, sleep)
        check_usd_quote(exchange, market, usd_quotes)
        currency_id, summary.symbol = currency_for_market(engine, exchange, market)
        supply = known_supply(engine, currency_id)
        for page in daily_pages(exchange, market, since, until, retries=retries, backoff=backoff, sleep=sleep):
            with engine.begin() as conn:
                store_records(
                    conn,
                    currency_id,
                    with_market_cap(page.rows, supply),
                    replace=True,
                    source=exchange.id,
                    volume_estimated=page.volume_estimated,
                    marketcap_estimated=supply is not None,
                )
            summary.pages += 1
            summary.skipped += page.skipped
            summary.stored += len(page.rows)
            days = [row[0] for row in page.rows]
            if days:
                summary.first_day = min(days + ([summary.first_day] if summary.first_day else []))
                summary.last_day = max(days + ([summary.last_day] if summary.last_day else []))
            if on_page:
                on_page(page)
    except (ExchangeFetchError, NotUsdQuotedError) as error:
        summary.error = str(error)
    except ccxt.BaseError as error:  # an unknown market, a refused request...: reported with what was stored
        summary.error = f"{type(error).__name__}: {error}"
    if summary.error:
        log.error("%s", summary.describe())
    return summary


def latest_stored_days(engine: Engine) -> dict[str, date | None]:
    """Every tracked currency's latest stored day (None when it has none yet)."""
    currency, record = currency_table, record_table
    latest = select(func.max(record.c.date)).where(record.c.currency_id == currency.c.id).scalar_subquery()
    with engine.connect() as conn:
        rows = conn.execute(select(currency.c.symbol, latest)).all()
    return {symbol: (day if isinstance(day, date) or day is None else date.fromisoformat(day)) for symbol, day in rows}
