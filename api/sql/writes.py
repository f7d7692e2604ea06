"""The SQL of the write endpoints. Each function is one transaction, committed; the commit
invalidates cached reads (`api.cache.invalidation`), so no reader sees an entry older than the write."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, delete, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.models import Currency, Record
from api.sql import tables
from api.sql.tables import dialect_insert, record_table
from utilities.schema import supply_table

API_LINEAGE = {
    "source": "api",
    "volume_estimated": False,
    "marketcap_estimated": False,
    "volume_source": "api",
    "marketcap_source": "api",
}
VALUE_COLUMNS = ("open", "high", "low", "close", "volume", "marketcap")


class DuplicateSymbolError(ValueError):
    """The symbol is already taken."""


def create_currency(session: Session, name: str, symbol: str, supply: tuple[float, date] | None = None) -> None:
    """Insert a currency (with its circulating supply and the day it held, when given);
    DuplicateSymbolError when the symbol exists (also under a race)."""
    if tables.currency_id(session, symbol) is not None:
        raise DuplicateSymbolError(symbol)
    circulating, as_of = supply or (None, None)
    currency = Currency(name=name, symbol=symbol, circulating_supply=circulating, supply_as_of=as_of)
    session.add(currency)
    try:
        if supply is not None:
            session.flush()
            _store_supply_point(session, currency.id, supply)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise DuplicateSymbolError(symbol) from None


def rename_currency(session: Session, symbol: str, name: str, supply: tuple[float, date] | None = None) -> bool:
    """Set the name (and the circulating supply with its day, when given); False when the symbol is unknown."""
    values: dict = {"name": name}
    if supply is not None:
        values |= {"circulating_supply": supply[0], "supply_as_of": supply[1]}
    changed = session.execute(update(Currency).where(Currency.symbol == symbol).values(**values)).rowcount
    if changed and supply is not None:
        _store_supply_point(session, tables.currency_id(session, symbol), supply)
    session.commit()
    return bool(changed)


def _store_supply_point(session: Session, currency_id: int, supply: tuple[float, date]) -> None:
    """A writer's supply is a known point (`api`) that estimated market caps interpolate from."""
    statement = dialect_insert(supply_table, session.get_bind().dialect.name)
    session.execute(
        statement.values(
            currency_id=currency_id, date=supply[1], circulating_supply=supply[0], source="api"
        ).on_conflict_do_update(
            index_elements=[supply_table.c.currency_id, supply_table.c.date],
            set_={"circulating_supply": statement.excluded.circulating_supply, "source": "api"},
        )
    )


def delete_currency(session: Session, symbol: str) -> bool:
    """Delete a currency and, by ON DELETE CASCADE, all its records; False when unknown."""
    deleted = session.execute(delete(Currency).where(Currency.symbol == symbol)).rowcount
    session.commit()
    return bool(deleted)


def upsert_records(session: Session, symbol: str, candles: list[dict]) -> int | None:
    """Insert or replace the candles of one currency in one transaction, as reported values from
    `source = 'api'` (nothing estimated; a day rewritten with identical values keeps its source);
    None when unknown."""
    currency_id = tables.currency_id(session, symbol)
    if currency_id is None:
        return None
    statement = dialect_insert(record_table, session.get_bind().dialect.name)
    statement = statement.on_conflict_do_update(
        index_elements=[record_table.c.currency_id, record_table.c.date],
        set_={column: statement.excluded[column] for column in VALUE_COLUMNS} | _lineage_if_changed(statement),
    )
    # RETURNING lets SQLAlchemy batch the rows into multi-row statements on every driver.
    rows = [{"currency_id": currency_id, **candle, **_api_lineage(candle)} for candle in candles]
    stored = session.execute(statement.returning(record_table.c.date), rows).all()
    session.commit()
    return len(stored)


def _api_lineage(candle: dict) -> dict:
    """`api` for each figure the writer sent; a figure left null has no source."""
    lineage = dict(API_LINEAGE)
    for figure, column in (("volume", "volume_source"), ("marketcap", "marketcap_source")):
        if candle.get(figure) is None:
            lineage[column] = None
    return lineage


def _lineage_if_changed(statement) -> dict:
    """Lineage names who supplied the stored values: rewriting a day with identical values (a
    client re-sending what it read) keeps the day's source; any changed value makes it `api`."""
    changed = or_(*(record_table.c[column].is_distinct_from(statement.excluded[column]) for column in VALUE_COLUMNS))
    return {column: case((changed, statement.excluded[column]), else_=record_table.c[column]) for column in API_LINEAGE}


def delete_records(session: Session, symbol: str, start: date | None, end: date | None) -> int | None:
    """Delete one currency's records between two days (inclusive; open ends allowed); None when unknown."""
    currency_id = tables.currency_id(session, symbol)
    if currency_id is None:
        return None
    statement = delete(Record).where(Record.currency_id == currency_id)
    if start is not None:
        statement = statement.where(Record.date >= start)
    if end is not None:
        statement = statement.where(Record.date <= end)
    deleted = session.execute(statement).rowcount
    session.commit()
    return deleted
