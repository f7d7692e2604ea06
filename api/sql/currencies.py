"""The SQL of the currency catalogue and of one coin's summary: plain functions, no Flask.

Each request is one statement. A coin's first and last days and its latest close and market
cap are primary-key probes (index scans of `(currency_id, date)` from either end), so the
catalogue's cost grows with the number of coins, not with the length of their history.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from api.sql.tables import currency_table, record_table


def like_pattern(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def coin_choices(session: Session) -> list[dict]:
    """Every stored coin by symbol with its status (`active`, `delisted`, `stale`) and since when;
    one statement over `currency` alone, for lists a person picks a coin from."""
    currency = currency_table
    statement = select(currency.c.symbol, currency.c.name, currency.c.status, currency.c.status_since).order_by(
        currency.c.symbol
    )
    return [
        {
            "symbol": symbol,
            "name": name,
            "status": status,
            "status_since": since.isoformat() if since else None,
        }
        for symbol, name, status, since in session.connection().execute(statement)
    ]


@dataclass(frozen=True)
class CatalogueQuery:
    """A validated catalogue request: optional search text and a page."""

    q: str | None = None
    page: int = 1
    per_page: int = 100

    def cache_key(self) -> str:
        return f"currencies:{(self.q or '').lower()}:{self.page}:{self.per_page}"


@dataclass
class CataloguePage:
    """Rows, their total across pages and the latest stored day of any coin (`X-Data-Through`)."""

    rows: list[dict]
    total: int
    data_through: date | None = None


@functools.lru_cache(maxsize=8)
def _catalogue_statement(mode: str) -> Select:
    """mode: "all", "search" (binds q, prefix, contains) or "symbol" (binds symbol).

    Always binds `first_rank` and `last_rank`; rank 1 always comes back, to carry the total.
    Ranking needs one probe per coin (its newest market cap); the other fields are probed only
    for the rows of the page, so a page of 100 out of 5,000 coins costs about 5,300 probes.
    """
    currency, record = currency_table, record_table
    coins = select(
        currency.c.id,
        currency.c.name,
        currency.c.symbol,
        currency.c.circulating_supply,
        currency.c.supply_as_of,
        currency.c.status,
        currency.c.status_since,
        currency.c.status_reason,
        _newest(record.c.marketcap, currency.c.id).label("latest_market_cap"),
    )
    if mode == "symbol":
        coins = coins.where(currency.c.symbol == bindparam("symbol"))
    elif mode == "search":
        name, symbol = func.lower(currency.c.name), func.lower(currency.c.symbol)
        coins = coins.where(
            or_(name.like(bindparam("contains"), escape="\\"), symbol.like(bindparam("contains"), escape="\\"))
        )
        exact = or_(name == bindparam("q"), symbol == bindparam("q"))
        prefix = or_(name.like(bindparam("prefix"), escape="\\"), symbol.like(bindparam("prefix"), escape="\\"))
        coins = coins.add_columns(case((exact, 0), (prefix, 1), else_=2).label("match_rank"))
    coins = coins.subquery("coins")
    order = [coins.c.match_rank] if mode == "search" else []
    order += [coins.c.latest_market_cap.desc().nulls_last(), coins.c.symbol.asc()]
    ranked = select(
        coins.c.id,
        coins.c.name,
        coins.c.symbol,
        coins.c.latest_market_cap,
        coins.c.circulating_supply,
        coins.c.supply_as_of,
        coins.c.status,
        coins.c.status_since,
        coins.c.status_reason,
        func.row_number().over(order_by=order).label("rank"),
        func.count().over().label("total"),
    ).subquery("ranked")
    of_coin = record.c.currency_id == ranked.c.id
    in_page = and_(ranked.c.rank >= bindparam("first_rank"), ranked.c.rank <= bindparam("last_rank"))
    return (
        select(
            ranked.c.name,
            ranked.c.symbol,
            select(func.min(record.c.date)).where(of_coin).scalar_subquery().label("first_day"),
            select(func.max(record.c.date)).where(of_coin).scalar_subquery().label("last_day"),
            _newest(record.c.close, ranked.c.id).label("latest_close"),
            ranked.c.latest_market_cap,
            _newest(record.c.marketcap_estimated, ranked.c.id).label("latest_market_cap_estimated"),
            ranked.c.circulating_supply,
            ranked.c.supply_as_of,
            ranked.c.status,
            ranked.c.status_since,
            ranked.c.status_reason,
            ranked.c.rank,
            ranked.c.total,
            # The latest stored day of any coin (one probe), for the X-Data-Through header.
            select(func.max(record.c.date)).scalar_subquery().label("data_through"),
        )
        .where(or_(in_page, ranked.c.rank == 1))
        .order_by(ranked.c.rank)
    )


def _newest(column, currency_id):
    """`column` of the coin's newest record: one backward probe of the primary key."""
    record = record_table
    newest = select(column).where(record.c.currency_id == currency_id).order_by(record.c.date.desc()).limit(1)
    return newest.scalar_subquery()


def _summary(row) -> dict:
    return {
        "name": row.name,
        "symbol": row.symbol,
        "first_day": row.first_day.isoformat() if row.first_day else None,
        "last_day": row.last_day.isoformat() if row.last_day else None,
        "latest_close": row.latest_close,
        "latest_market_cap": row.latest_market_cap,
        # Estimated: close x the supply last known (ingested days), never a reported figure.
        "latest_market_cap_estimated": None
        if row.latest_market_cap_estimated is None
        else bool(row.latest_market_cap_estimated),
        "circulating_supply": row.circulating_supply,
        "supply_as_of": row.supply_as_of.isoformat() if row.supply_as_of else None,
        # Set by each update run: active, delisted or stale since a day, with the reason (docs/data.md).
        "status": row.status or "active",
        "status_since": row.status_since.isoformat() if row.status_since else None,
        "status_reason": row.status_reason,
    }


def catalogue_page(session: Session, query: CatalogueQuery) -> CataloguePage:
    """Currencies by latest market cap (nulls last), exact then prefix matches first when searching."""
    offset = (query.page - 1) * query.per_page
    binds: dict = {"first_rank": offset + 1, "last_rank": offset + query.per_page}
    if query.q:
        text = query.q.lower()
        binds |= {"q": text, "prefix": like_pattern(text) + "%", "contains": "%" + like_pattern(text) + "%"}
    result = session.connection().execute(_catalogue_statement("search" if query.q else "all"), binds).all()
    total = result[0].total if result else 0
    data_through = result[0].data_through if result else None
    return CataloguePage(
        rows=[_summary(row) for row in result if row.rank > offset], total=total, data_through=data_through
    )


def currency_summary(session: Session, symbol: str) -> dict | None:
    """One currency with the catalogue's fields, or None (`last_day` is its X-Data-Through)."""
    binds = {"symbol": symbol, "first_rank": 1, "last_rank": 1}
    row = session.connection().execute(_catalogue_statement("symbol"), binds).first()
    return _summary(row) if row else None
