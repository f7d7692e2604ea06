"""What every SQL module of the API shares: the table aliases, the dialect-aware INSERT and the
lookups used by several endpoints. No Flask.

The tables are the models' own (`utilities/schema.py`), the ones the seeder and ingestion write.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from utilities.schema import currency_table, dialect_insert, record_table

__all__ = ["currency_id", "currency_table", "dialect_insert", "latest_day", "record_table"]


def currency_id(session: Session, symbol: str) -> int | None:
    """The id of the coin with this symbol; None when it is not stored."""
    return session.execute(select(currency_table.c.id).where(currency_table.c.symbol == symbol)).scalar_one_or_none()


def latest_day(session: Session, symbol: str | None = None) -> date | None:
    """The latest stored day of one coin, or of all; for answers whose statement did not carry it."""
    statement = select(func.max(record_table.c.date))
    if symbol is not None:
        statement = statement.join(currency_table, currency_table.c.id == record_table.c.currency_id).where(
            currency_table.c.symbol == symbol
        )
    return session.execute(statement).scalar()
