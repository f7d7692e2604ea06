"""The SQL of the currency catalogue and of price history: plain functions, no Flask.

Each request is one statement. A coin's first and last days and its latest close and market
cap are primary-key probes (index scans of `(currency_id, date)` from either end), so the
catalogue's cost grows with the number of coins, not with the length of their history.
Weekly and monthly candles are aggregated in SQL.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session

from api.sql.functions import month_start, week_start
from api.sql.tables import currency_table, record_table

MAX_CANDLES = 5000
DEFAULT_HISTORY_DAYS = 365
INTERVALS = ("1d", "1w", "1M")


def like_pattern(text: str) -> str:
    """Escape LIKE wildcards so user text matches literally (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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


@dataclass(frozen=True)
class HistoryQuery:
    """A validated history request. Missing days default to the coin's last 365 stored days."""

    symbol: str
    start: date | None = None
    end: date | None = None
    interval: str = "1d"

    def cache_key(self, media: str) -> str:
        start = self.start.isoformat() if self.start else "default"
        end = self.end.isoformat() if self.end else "latest"
        return f"history:{self.symbol}:{start}:{end}:{self.interval}:{media}"


@dataclass
class History:
    """`found` is False for an unknown symbol; `too_many` when the range exceeds MAX_CANDLES;
    `data_through` is the coin's latest stored day (whatever the range)."""

    found: bool
    candles: list[dict]
    too_many: bool = False
    data_through: date | None = None


@functools.lru_cache(maxsize=16)
def _history_statement(interval: str, has_start: bool, has_end: bool) -> Select:
    """Candles of one coin between two days. Binds `symbol`, and `start`/`end` when given.

    The currency is the outer side of a join, so an unknown symbol gives no row at all and a
    known one with nothing in range gives one row of NULLs.
    """
    currency, record = currency_table, record_table
    coin_id = select(currency.c.id).where(currency.c.symbol == bindparam("symbol")).scalar_subquery()
    of_coin = record.c.currency_id == coin_id
    if has_end:
        end_day = bindparam("end", type_=Date())
    else:
        end_day = select(func.max(record.c.date)).where(of_coin).scalar_subquery()
    if has_start:
        start_day = bindparam("start", type_=Date())
    else:
        # The 365th stored day back from the end, or the first one when there are fewer.
        nth_back = (
            select(record.c.date)
            .where(of_coin, record.c.date <= end_day)
            .order_by(record.c.date.desc())
            .limit(1)
            .offset(DEFAULT_HISTORY_DAYS - 1)
            .scalar_subquery()
        )
        start_day = func.coalesce(nth_back, select(func.min(record.c.date)).where(of_coin).scalar_subquery())
    in_range = (of_coin, record.c.date >= start_day, record.c.date <= end_day)
    if interval == "1d":
        candles = select(
            record.c.date.label("period"),
            literal(1).label("days"),
            record.c.open,
            record.c.high,
            record.c.low,
            record.c.close,
            record.c.volume,
            record.c.marketcap.label("market_cap"),
            record.c.source,
            cast(record.c.volume_estimated, Integer).label("volume_estimated"),
            cast(record.c.marketcap_estimated, Integer).label("market_cap_estimated"),
        ).where(*in_range)
    else:
        period = week_start(record.c.date) if interval == "1w" else month_start(record.c.date)
        first_in_period = {"partition_by": period, "order_by": record.c.date.asc()}
        last_in_period = {"partition_by": period, "order_by": record.c.date.desc()}
        days = (
            select(
                period.label("period"),
                record.c.high,
                record.c.low,
                record.c.volume,
                record.c.source,
                cast(record.c.volume_estimated, Integer).label("volume_estimated"),
                func.first_value(record.c.open).over(**first_in_period).label("first_open"),
                func.first_value(record.c.close).over(**last_in_period).label("last_close"),
                func.first_value(record.c.marketcap).over(**last_in_period).label("last_cap"),
                func.first_value(cast(record.c.marketcap_estimated, Integer))
                .over(**last_in_period)
                .label("last_cap_estimated"),
            )
            .where(*in_range)
            .subquery("days")
        )
        # Every row of a period carries the same first open and last close/cap: min() picks it.
        candles = select(
            days.c.period,
            func.count().label("days"),
            func.min(days.c.first_open).label("open"),
            func.max(days.c.high).label("high"),
            func.min(days.c.low).label("low"),
            func.min(days.c.last_close).label("close"),
            func.sum(days.c.volume).label("volume"),
            func.min(days.c.last_cap).label("market_cap"),
            # One source when every day of the period shares it, else "mixed".
            case((func.min(days.c.source) == func.max(days.c.source), func.min(days.c.source)), else_="mixed").label(
                "source"
            ),
            func.max(days.c.volume_estimated).label("volume_estimated"),
            func.min(days.c.last_cap_estimated).label("market_cap_estimated"),
        ).group_by(days.c.period)
    candles = candles.order_by("period").limit(MAX_CANDLES + 1).subquery("candles")
    coin_last_day = select(func.max(record.c.date)).where(record.c.currency_id == currency.c.id).scalar_subquery()
    return (
        # SQLite stores days as ISO text: take it as is (no parsing into `date` and back per row);
        # the estimate flags leave SQL as booleans. The coin's latest day and id come last: candles
        # are zip(fields, row), no slicing.
        select(*_served(candles), coin_last_day.label("data_through"), currency.c.id)
        .select_from(currency.outerjoin(candles, true()))
        .where(currency.c.symbol == bindparam("symbol"))
        .order_by(candles.c.period)
    )


def price_history(session: Session, query: HistoryQuery) -> History:
    """OHLCV candles at 1d, 1w (ISO weeks from Monday) or 1M; one statement."""
    binds: dict = {"symbol": query.symbol}
    if query.start is not None:
        binds["start"] = query.start
    if query.end is not None:
        binds["end"] = query.end
    statement = _history_statement(query.interval, query.start is not None, query.end is not None)
    result = session.connection().execute(statement, binds)  # Core: no ORM steps for a plain select
    # Each candle's fields are the statement's columns before the coin's last day and id ("period"
    # is served as "period_start"; plain str, not SQLAlchemy's quoted_name), built by C code (zip,
    # dict), not a Python expression per value.
    fields = ["period_start" if key == "period" else str(key) for key in list(result.keys())[:-2]]
    rows = result.all()
    if not rows:
        return History(found=False, candles=[])
    data_through = rows[0].data_through
    if rows[0].period is None:  # the coin is stored, with nothing in range: one row of NULLs
        return History(found=True, candles=[], data_through=data_through)
    candles = [dict(zip(fields, row, strict=False)) for row in rows]  # zip stops before the last two
    if type(rows[0].period) is not str:  # PostgreSQL's driver gives `date`; SQLite's text is ISO already
        for candle in candles:
            candle["period_start"] = candle["period_start"].isoformat()
    if len(candles) > MAX_CANDLES:
        return History(found=True, candles=[], too_many=True, data_through=data_through)
    return History(found=True, candles=candles, data_through=data_through)


def _served(candles) -> list:
    """The candle columns as served: ISO day text as is on SQLite, the estimate flags as booleans."""
    columns = []
    for column in candles.c:
        if column.key == "period":
            column = type_coerce(column, String).label("period")
        elif column.key in ("volume_estimated", "market_cap_estimated"):
            column = cast(column, Boolean).label(column.key)
        columns.append(column)
    return columns
