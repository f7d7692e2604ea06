"""The one statement the compatibility surfaces need that no endpoint of /api/v1 has: every
stored coin's symbol and name (CoinGecko's `coins/list`), ordered by symbol. No Flask."""

from __future__ import annotations

import functools

from sqlalchemy import Row, Select, func, select
from sqlalchemy.orm import Session

from api.sql.tables import currency_table, record_table


@functools.lru_cache(maxsize=1)
def _names_statement() -> Select:
    """(symbol, name) of every coin, and the latest stored day of any coin on each row."""
    latest = select(func.max(record_table.c.date)).scalar_subquery()
    return select(currency_table.c.symbol, currency_table.c.name, latest.label("data_through")).order_by(
        currency_table.c.symbol
    )


def currency_names(session: Session) -> list[Row]:
    """Every stored coin as (symbol, name, data_through), by symbol; one statement."""
    return session.connection().execute(_names_statement()).all()
