"""The SQL of the dashboard: plain functions over a SQLAlchemy session, no Flask.

The dashboard is one statement for `id=all` and two for a list of symbols (the first
resolves the symbols, so unknown ones can be named), whatever the number of coins: each
coin's record on day D is read with its closes on D-1, D-7 and D-30 (four indexed probes
per coin), and the database computes the changes, sorts, counts and pages.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from api.sql.freshness import default_day
from api.sql.functions import days_before, no_index_lookup
from api.sql.tables import currency_table, record_table
from utilities.value_bounds import MAX_PRICE, MIN_PRICE

CHANGE_WINDOWS = {"change_24h": 1, "change_7d": 7, "change_1m": 30}


class UnknownSymbolsError(LookupError):
    """Some requested symbols are not stored."""

    def __init__(self, symbols: list[str]) -> None:
        super().__init__(", ".join(symbols))
        self.symbols = symbols


@dataclass(frozen=True)
class DashboardQuery:
    """A validated dashboard request. `symbols=None` means every coin; `day=None` the latest day."""

    symbols: tuple[str, ...] | None
    day: date | None
    order_by: str = "crypto"
    descending: bool = True
    page: int = 1
    per_page: int = 100

    def cache_key(self) -> str:
        """Equal for requests that must get the same answer (`id=BTC,aave` == `id=aave, btc`)."""
        symbols = ",".join(sorted(self.symbols)) if self.symbols is not None else "*all*"
        day = self.day.isoformat() if self.day is not None else "latest"
        direction = "desc" if self.descending else "asc"
        return f"dashboard:{symbols}:{day}:{self.order_by}:{direction}:{self.page}:{self.per_page}"


@dataclass
class DashboardPage:
    """One page of dashboard rows, the number of rows across all pages, and the latest stored day
    of the requested coins (`X-Data-Through`; None when the statement returned no row)."""

    rows: list[dict]
    total: int
    data_through: date | None = None


@functools.lru_cache(maxsize=1)
def _symbol_ids_statement() -> Select:
    """(id, symbol) of the stored ones among `symbols` (an expanding bind)."""
    return select(currency_table.c.id, currency_table.c.symbol).where(
        currency_table.c.symbol.in_(bindparam("symbols", expanding=True))
    )


def _currency_ids(session: Session, symbols: tuple[str, ...]) -> list[int]:
    """Ids of `symbols`; raises `UnknownSymbolsError` naming those not stored."""
    found = session.connection().execute(_symbol_ids_statement(), {"symbols": list(symbols)}).all()
    stored = {symbol for _, symbol in found}
    unknown = [symbol for symbol in symbols if symbol not in stored]
    if unknown:
        raise UnknownSymbolsError(unknown)
    return [currency_id for currency_id, _ in found]


@functools.lru_cache(maxsize=64)
def _dashboard_statement(order_by: str, descending: bool, filter_ids: bool) -> Select:
    """The ranking statement, built once per shape and reused with new binds (building is costly).

    Binds: `day` (None: the latest day every active coin has, api/sql/freshness.py), `first_rank`,
    `last_rank` and, when filtering, `ids`.
    """
    record, currency = record_table, currency_table
    target = select(func.coalesce(bindparam("day", type_=Date()), default_day()).label("day")).cte("target")
    # The coins' records on D (the date index), then each one's D-1, D-7 and D-30 by its primary
    # key: four indexed probes per coin, the minimal reads (docs/performance.md: measured against
    # the pivot of four date scans it replaced).
    on_day = record.alias("on_day")
    joined = target.join(on_day, on_day.c.date == target.c.day).join(currency, currency.c.id == on_day.c.currency_id)
    earlier = {}
    for days_back in CHANGE_WINDOWS.values():
        earlier[days_back] = record.alias(f"back_{days_back}")
        joined = joined.outerjoin(
            earlier[days_back],
            and_(
                earlier[days_back].c.currency_id == on_day.c.currency_id,
                earlier[days_back].c.date == days_before(target.c.day, days_back),
            ),
        )
    day_rows = select(
        currency.c.name,
        currency.c.symbol,
        on_day.c.date,
        on_day.c.close,
        on_day.c.volume,
        on_day.c.marketcap,
        *(alias.c.close.label(f"close_{days_back}") for days_back, alias in earlier.items()),
    ).select_from(joined)
    if filter_ids:
        # Still the date index, one probe for D: a short list costs what `id=all` costs, not its history.
        day_rows = day_rows.where(no_index_lookup(on_day.c.currency_id).in_(bindparam("ids", expanding=True)))
    day_rows = day_rows.subquery("day_rows")

    changes = {}
    for field, days_back in CHANGE_WINDOWS.items():
        earlier = day_rows.c[f"close_{days_back}"]
        # NULL when the earlier day has no record (the subquery gives NULL) or its close is 0, and
        # when either close is outside the documented bounds (a row stored before they existed):
        # within them the quotient cannot overflow, which PostgreSQL would raise as an error.
        within = and_(earlier.between(MIN_PRICE, MAX_PRICE), day_rows.c.close.between(0, MAX_PRICE))
        changes[field] = case((within, (day_rows.c.close - earlier) / earlier * 100), else_=None)
    sort_expression = {
        "crypto": func.lower(day_rows.c.name),
        "symbol": day_rows.c.symbol,
        "price": day_rows.c.close,
        "24h": changes["change_24h"],
        "7d": changes["change_7d"],
        "1m": changes["change_1m"],
        "24h-volume": day_rows.c.volume,
        "market_cap": day_rows.c.marketcap,
    }[order_by]
    direction = sort_expression.desc() if descending else sort_expression.asc()
    ranked = select(
        day_rows.c.name,
        day_rows.c.symbol,
        day_rows.c.date,
        day_rows.c.close.label("price"),
        *(expression.label(field) for field, expression in changes.items()),
        day_rows.c.volume.label("volume_24h"),
        day_rows.c.marketcap.label("market_cap"),
        func.row_number().over(order_by=[direction.nulls_last(), day_rows.c.symbol.asc()]).label("rank"),
        func.count().over().label("total"),
        _latest_of(filter_ids).label("data_through"),
    ).subquery("ranked")
    # Rank 1 always comes back too, so the total is known even for a page past the end.
    in_page = and_(ranked.c.rank >= bindparam("first_rank"), ranked.c.rank <= bindparam("last_rank"))
    return select(ranked).where(or_(in_page, ranked.c.rank == 1)).order_by(ranked.c.rank)


def _latest_of(filter_ids: bool):
    """The latest stored day of every coin, or of the requested ones (`ids`): one index probe."""
    latest = select(func.max(record_table.c.date))
    if filter_ids:
        latest = latest.where(record_table.c.currency_id.in_(bindparam("ids", expanding=True)))
    return latest.scalar_subquery()


def dashboard_page(session: Session, query: DashboardQuery) -> DashboardPage:
    """Rank the requested coins on a day; raises `UnknownSymbolsError` for unknown symbols."""
    binds: dict = {"day": query.day}
    if query.symbols is not None:
        binds["ids"] = _currency_ids(session, query.symbols)
    offset = (query.page - 1) * query.per_page
    binds.update(first_rank=offset + 1, last_rank=offset + query.per_page)
    statement = _dashboard_statement(query.order_by, query.descending, query.symbols is not None)
    # Core execution on the session's connection: a plain select needs none of the ORM's steps.
    result = session.connection().execute(statement, binds).all()

    total = result[0].total if result else 0
    data_through = result[0].data_through if result else None
    rows = [
        {
            "name": name,
            "symbol": symbol,
            "date": day.isoformat(),
            "price": price,
            "change_24h": change_24h,
            "change_7d": change_7d,
            "change_1m": change_1m,
            "volume_24h": volume_24h,
            "market_cap": market_cap,
        }
        for name, symbol, day, price, change_24h, change_7d, change_1m, volume_24h, market_cap, rank, *_ in result
        if rank > offset
    ]
    return DashboardPage(rows=rows, total=total, data_through=data_through)
