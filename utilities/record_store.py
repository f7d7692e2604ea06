"""Bulk writes of daily records at driver speed, for the CSV seeder and exchange ingestion.

Rows are tuples in `RECORD_FIELDS` order (date, open, high, low, close, volume, marketcap).
`replace=False` keeps rows already stored (seeding: re-runs converge); `replace=True` overwrites
them (ingestion: the exchange's latest word wins). PostgreSQL gets COPY into a temp table and one
INSERT ... ON CONFLICT; SQLite gets the driver's executemany; both in the caller's transaction.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import sqlite

from utilities.csv_source import RECORD_FIELDS

COLUMNS = ("currency_id", *RECORD_FIELDS)
_COLUMN_LIST = ", ".join(COLUMNS)
_UPDATES = ", ".join(f"{column} = EXCLUDED.{column}" for column in RECORD_FIELDS[1:])
_ON_CONFLICT = {
    False: "ON CONFLICT (currency_id, date) DO NOTHING",
    True: f"ON CONFLICT (currency_id, date) DO UPDATE SET {_UPDATES}",
}


def _postgresql(conn: Connection, currency_id: int, rows: list[tuple], replace: bool) -> None:
    buffer = io.StringIO()
    # csv writes floats with repr(), which PostgreSQL parses back to the identical double;
    # None becomes an empty field, which COPY ... CSV reads as NULL.
    csv.writer(buffer).writerows((currency_id, *row) for row in rows)
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


def _sqlite(conn: Connection, table: Table, currency_id: int, rows: list[tuple], replace: bool) -> None:
    statement = sqlite.insert(table)
    if replace:
        statement = statement.on_conflict_do_update(
            index_elements=["currency_id", "date"],
            set_={column: statement.excluded[column] for column in RECORD_FIELDS[1:]},
        )
    else:
        statement = statement.on_conflict_do_nothing()
    compiled = statement.compile(dialect=conn.dialect, column_keys=list(COLUMNS))
    if list(compiled.positiontup)[: len(COLUMNS)] != list(COLUMNS):
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    # ISO text is what SQLAlchemy's Date type stores on SQLite.
    conn.exec_driver_sql(str(compiled), [(currency_id, row[0].isoformat(), *row[1:]) for row in rows])


def store_records(conn: Connection, table: Table, currency_id: int, rows: list[tuple], *, replace: bool) -> None:
    """Write one currency's rows in bulk inside the caller's transaction."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _postgresql(conn, currency_id, rows, replace)
    elif dialect == "sqlite":
        _sqlite(conn, table, currency_id, rows, replace)
    else:
        raise NotImplementedError(f"bulk writes support PostgreSQL and SQLite, not {dialect}")
