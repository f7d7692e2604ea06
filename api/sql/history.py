"""The SQL of price history: one coin's candles between two days, by day, ISO week or month,
one statement, no Flask. Weekly and monthly candles are aggregated in SQL.
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
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
    type_coerce,
)
from sqlalchemy.orm import Session

from api.sql.functions import month_start, week_start
from api.sql.tables import currency_table, record_table
from utilities.value_bounds import MAX_VOLUME

MAX_CANDLES = 5000
# Volumes that add up every market (the CSVs' CoinMarketCap figure, CoinGecko's total volume, a
# writer's reported figure); any other volume source is one exchange's market (docs/data.md).
AGGREGATE_VOLUME_SOURCES = ("csv", "coingecko", "api")
DEFAULT_HISTORY_DAYS = 365
INTERVALS = ("1d", "1w", "1M")


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
    volume_scope = case(
        (record.c.volume.is_(None), None),
        (record.c.volume_source.in_(AGGREGATE_VOLUME_SOURCES), "aggregate"),
        else_="exchange",
    )
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
            record.c.volume_source,
            record.c.marketcap_source,
            volume_scope.label("volume_scope"),
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
                record.c.volume_source,
                volume_scope.label("volume_scope"),
                func.first_value(record.c.marketcap_source).over(**last_in_period).label("last_cap_source"),
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
            # A day's volume above the documented bound (stored before it existed) counts as unknown,
            # like a NULL one: within the bound the sum cannot overflow, which PostgreSQL raises.
            func.sum(case((days.c.volume <= MAX_VOLUME, days.c.volume))).label("volume"),
            func.min(days.c.last_cap).label("market_cap"),
            # One source when every day of the period shares it, else "mixed".
            _one_or_mixed(days.c.source).label("source"),
            func.max(days.c.volume_estimated).label("volume_estimated"),
            func.min(days.c.last_cap_estimated).label("market_cap_estimated"),
            _one_or_mixed(days.c.volume_source).label("volume_source"),
            func.min(days.c.last_cap_source).label("marketcap_source"),
            _one_or_mixed(days.c.volume_scope).label("volume_scope"),
        ).group_by(days.c.period)
    candles = candles.order_by("period").limit(MAX_CANDLES + 1).subquery("candles")
    coin_last_day = select(func.max(record.c.date)).where(record.c.currency_id == currency.c.id).scalar_subquery()
    # The coin and its latest day, computed once: as a column of the outer select, PostgreSQL ran
    # that subquery once per candle (2,991 index probes for 10 years, most of the statement's time).
    # LIMIT keeps PostgreSQL from pulling the subquery up into the join (the symbol is unique).
    coin = (
        select(currency.c.id, coin_last_day.label("data_through"))
        .where(currency.c.symbol == bindparam("symbol"))
        .limit(1)
        .subquery("coin")
    )
    return (
        # SQLite stores days as ISO text: take it as is (no parsing into `date` and back per row);
        # the estimate flags leave SQL as booleans. The coin's latest day and id come last: candles
        # are zip(fields, row), no slicing.
        select(*_served(candles), coin.c.data_through, coin.c.id)
        .select_from(coin.outerjoin(candles, true()))
        .order_by(candles.c.period)
    )


def _one_or_mixed(column):
    """The period's one value when every day (with a value) shares it, else "mixed"; null when none has one."""
    return case(
        (func.min(column).is_(None), None),
        (func.min(column) == func.max(column), func.min(column)),
        else_="mixed",
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
