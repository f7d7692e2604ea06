"""Bulk writes of daily records at driver speed, for the CSV seeder and exchange ingestion.

Rows are tuples in `RECORD_FIELDS` order (date, open, high, low, close, volume, marketcap); the
lineage (`source`, whether volume or market cap are estimates, and who supplied each of the two:
`volume_source` / `marketcap_source`, the call's `source` unless told, null where the figure is
null) is one value per call, stored on every row. `replace=False` keeps rows already stored
(seeding: re-runs converge); `replace=True` overwrites them (ingestion: the exchange's latest word
wins). PostgreSQL gets COPY into a temp table and one
INSERT ... ON CONFLICT; SQLite gets the driver's executemany; both in the caller's transaction.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import Connection, false, or_, select, update

from utilities.csv_source import RECORD_FIELDS
from utilities.schema import currency_table, dialect_insert, record_table, supply_table

LINEAGE_FIELDS = ("source", "volume_estimated", "marketcap_estimated", "volume_source", "marketcap_source")
COLUMNS = ("currency_id", *RECORD_FIELDS, *LINEAGE_FIELDS)
_COLUMN_LIST = ", ".join(COLUMNS)
# Set in `conn.info` by every bulk write (its SQL bypasses SQLAlchemy's events on PostgreSQL): the
# commit then invalidates cached reads (api/cache/invalidation.py).
ROWS_CHANGED = "rows_changed"
_UPDATED = (*RECORD_FIELDS[1:], *LINEAGE_FIELDS)
_UPDATES = ", ".join(f"{column} = EXCLUDED.{column}" for column in _UPDATED)
_ON_CONFLICT = {
    False: "ON CONFLICT (currency_id, date) DO NOTHING",
    True: f"ON CONFLICT (currency_id, date) DO UPDATE SET {_UPDATES}",
}


def _with_lineage(currency_id: int, rows: list[tuple], lineage: tuple) -> list[tuple]:
    """Each row in COLUMNS order: a figure's source is null where the figure is (volume at 5,
    market cap at 6 in RECORD_FIELDS order)."""
    source, volume_estimated, marketcap_estimated, volume_source, marketcap_source = lineage
    return [
        (
            currency_id,
            *row,
            source,
            volume_estimated,
            marketcap_estimated,
            volume_source if row[5] is not None else None,
            marketcap_source if row[6] is not None else None,
        )
        for row in rows
    ]


def _postgresql(conn: Connection, rows: list[tuple], replace: bool) -> None:
    buffer = io.StringIO()
    # csv writes floats with repr(), which PostgreSQL parses back to the identical double;
    # None becomes an empty field, which COPY ... CSV reads as NULL; booleans as True/False.
    csv.writer(buffer).writerows(rows)
    buffer.seek(0)
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute("CREATE TEMP TABLE IF NOT EXISTS record_staging (LIKE record) ON COMMIT DELETE ROWS")
        cursor.copy_expert(f"COPY record_staging ({_COLUMN_LIST}) FROM STDIN WITH (FORMAT csv)", buffer)
        cursor.execute(
            f"INSERT INTO record ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM record_staging {_ON_CONFLICT[replace]}"
        )
        cursor.execute("DELETE FROM record_staging")  # cheaper than TRUNCATE for one page
    finally:
        cursor.close()


def _sqlite(conn: Connection, rows: list[tuple], replace: bool) -> None:
    statement = dialect_insert(record_table, "sqlite")
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=["currency_id", "date"],
            set_={column: statement.excluded[column] for column in _UPDATED},
        )
    else:
        statement = statement.on_conflict_do_nothing()
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(COLUMNS))
    if list(compiled.positiontup)[: len(COLUMNS)] != list(COLUMNS):
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    # ISO text is what SQLAlchemy's Date type stores on SQLite.
    conn.exec_driver_sql(str(compiled), [(row[0], row[1].isoformat(), *row[2:]) for row in rows])


def store_records(
    conn: Connection,
    currency_id: int,
    rows: list[tuple],
    *,
    replace: bool,
    source: str,
    volume_estimated: bool = False,
    marketcap_estimated: bool = False,
    volume_source: str | None = None,
    marketcap_source: str | None = None,
) -> None:
    """Write one currency's rows in bulk inside the caller's transaction, each marked with its lineage."""
    if not rows:
        return
    lineage = (source, volume_estimated, marketcap_estimated, volume_source or source, marketcap_source or source)
    full_rows = _with_lineage(currency_id, rows, lineage)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _postgresql(conn, full_rows, replace)
    elif dialect == "sqlite":
        _sqlite(conn, full_rows, replace)
    else:
        raise NotImplementedError(f"bulk writes support PostgreSQL and SQLite, not {dialect}")
    conn.info[ROWS_CHANGED] = True


def refresh_supply(conn: Connection, currency_id: int) -> None:
    """Derive the coin's circulating supply from its newest reported market cap (market cap / close):
    a point in `supply` (from that row's source: `csv` when seeded), and the currency's current
    figure unless a supply known on a later day is already stored (e.g. one set through the write API)."""
    currency, record = currency_table, record_table
    newest = conn.execute(
        select(record.c.date, record.c.marketcap, record.c.close, record.c.source)
        .where(
            record.c.currency_id == currency_id,
            record.c.marketcap > 0,
            record.c.close > 0,
            record.c.marketcap_estimated.is_(false()),
        )
        .order_by(record.c.date.desc())
        .limit(1)
    ).first()
    if newest is None:
        return
    day, marketcap, close, source = newest
    conn.execute(
        dialect_insert(supply_table, conn.dialect.name)
        .values(currency_id=currency_id, date=day, circulating_supply=marketcap / close, source=source)
        .on_conflict_do_nothing()
    )
    known = or_(currency.c.supply_as_of.is_(None), currency.c.supply_as_of <= day)
    conn.execute(
        update(currency)
        .where(currency.c.id == currency_id, known)
        .values(circulating_supply=marketcap / close, supply_as_of=day)
    )
