"""The SQL of the search endpoint: one statement finding a coin by name or symbol, no Flask."""

from __future__ import annotations

import functools

from sqlalchemy import Row, Select, bindparam, case, func, or_, select
from sqlalchemy.orm import Session

from api.sql.tables import currency_table, record_table


@functools.lru_cache(maxsize=1)
def _search_statement() -> Select:
    """Exact name match first, then symbol; built once (binds `name`, lower case, and `symbol`).

    Also the coin's latest stored day (`last_day`, its X-Data-Through)."""
    currency = currency_table
    name_matches = func.lower(currency.c.name) == bindparam("name")
    last_day = select(func.max(record_table.c.date)).where(record_table.c.currency_id == currency.c.id)
    return (
        select(currency.c.name, currency.c.symbol, last_day.scalar_subquery().label("last_day"))
        .where(or_(name_matches, currency.c.symbol == bindparam("symbol")))
        .order_by(case((name_matches, 0), else_=1), currency.c.id)
        .limit(1)
    )


def find_currency(session: Session, term: str) -> Row | None:
    """Case-insensitive exact match on name first, then on symbol; one statement, (name, symbol, last_day)."""
    # Symbols are ASCII: upper-casing a look-alike ("\u017fol") would name a real coin (SOL), so a
    # non-ASCII term can only match a name (no symbol equals the empty string).
    symbol = term.upper() if term.isascii() else ""
    return session.connection().execute(_search_statement(), {"name": term.lower(), "symbol": symbol}).first()
