"""The SQL behind the read endpoints: plain functions over a SQLAlchemy session, no Flask.

The dashboard costs at most two statements whatever the number of coins: one to resolve
symbols and/or the default day, one that joins each coin's record on day D with its records
on D-1, D-7 and D-30, sorts, counts and pages in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from api.models import Currency, Record

CHANGE_WINDOWS = {"change_24h": 1, "change_7d": 7, "change_1m": 30}
# Canonical sort keys of the dashboard; params.py maps the accepted aliases onto these.
ORDER_KEYS = ("crypto", "symbol", "price", "24h", "7d", "1m", "24h-volume", "market_cap")


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


@dataclass
class DashboardPage:
    """One page of dashboard rows and the number of rows across all pages."""

    rows: list[dict]
    total: int
    day: date | None


def _resolve(session: Session, query: DashboardQuery) -> tuple[list[int] | None, date | None]:
    """Statement 1: currency ids of the requested symbols and, if needed, the latest stored day."""
    latest_day = select(func.max(Record.date)).scalar_subquery()
    if query.symbols is None:
        if query.day is not None:
            return None, query.day
        return None, session.execute(select(latest_day)).scalar()
    columns = [Currency.id, Currency.symbol] + ([latest_day] if query.day is None else [])
    found = session.execute(select(*columns).where(Currency.symbol.in_(query.symbols))).all()
    stored = {row.symbol for row in found}
    unknown = [symbol for symbol in query.symbols if symbol not in stored]
    if unknown:
        raise UnknownSymbolsError(unknown)
    day = query.day if query.day is not None else found[0][2]
    return [row.id for row in found], day


def dashboard_page(session: Session, query: DashboardQuery) -> DashboardPage:
    """Rank the requested coins on a day; raises `UnknownSymbolsError` for unknown symbols."""
    currency_ids, day = _resolve(session, query)
    if day is None:
        return DashboardPage(rows=[], total=0, day=None)

    changes = {}
    joins = []
    for field, days_back in CHANGE_WINDOWS.items():
        previous = aliased(Record, name=f"prev_{days_back}")
        joins.append(
            (
                previous,
                and_(previous.currency_id == Record.currency_id, previous.date == day - timedelta(days=days_back)),
            )
        )
        # NULL when the earlier day is missing (the outer join gives NULL) or its close is 0.
        changes[field] = case((previous.close != 0, (Record.close - previous.close) / previous.close * 100), else_=None)

    sort_expression = {
        "crypto": func.lower(Currency.name),
        "symbol": Currency.symbol,
        "price": Record.close,
        "24h": changes["change_24h"],
        "7d": changes["change_7d"],
        "1m": changes["change_1m"],
        "24h-volume": Record.volume,
        "market_cap": Record.marketcap,
    }[query.order_by]
    direction = sort_expression.desc() if query.descending else sort_expression.asc()
    ordering = [direction.nulls_last(), Currency.symbol.asc()]

    ranked = (
        select(
            Currency.name,
            Currency.symbol,
            Record.close.label("price"),
            *(expression.label(field) for field, expression in changes.items()),
            Record.volume.label("volume_24h"),
            Record.marketcap.label("market_cap"),
            func.row_number().over(order_by=ordering).label("rank"),
            func.count().over().label("total"),
        )
        .join(Currency, Currency.id == Record.currency_id)
        .where(Record.date == day)
    )
    for previous, condition in joins:
        ranked = ranked.outerjoin(previous, condition)
    if currency_ids is not None:
        ranked = ranked.where(Record.currency_id.in_(currency_ids))
    ranked = ranked.subquery("ranked")

    offset = (query.page - 1) * query.per_page
    # Row 1 always comes back too, so the total is known even for a page past the end.
    in_page = and_(ranked.c.rank > offset, ranked.c.rank <= offset + query.per_page)
    result = session.execute(select(ranked).where(or_(in_page, ranked.c.rank == 1)).order_by(ranked.c.rank)).all()

    total = result[0].total if result else 0
    rows = [
        {
            "name": row.name,
            "symbol": row.symbol,
            "date": day.isoformat(),
            "price": row.price,
            "change_24h": row.change_24h,
            "change_7d": row.change_7d,
            "change_1m": row.change_1m,
            "volume_24h": row.volume_24h,
            "market_cap": row.market_cap,
        }
        for row in result
        if row.rank > offset
    ]
    return DashboardPage(rows=rows, total=total, day=day)


def find_currency(session: Session, term: str) -> Currency | None:
    """Case-insensitive exact match on name first, then on symbol; one statement."""
    name_matches = func.lower(Currency.name) == term.lower()
    return session.execute(
        select(Currency)
        .where(or_(name_matches, Currency.symbol == term.upper()))
        .order_by(case((name_matches, 0), else_=1), Currency.id)
        .limit(1)
    ).scalar_one_or_none()
