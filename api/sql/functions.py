"""SQL that SQLite and PostgreSQL spell differently, as SQLAlchemy constructs: date arithmetic,
and a hint to SQLite's planner.

SQLAlchemy stores SQLite dates as ISO text, which SQLite's date functions read and write, so
the results compare and sort like PostgreSQL's `date` values.
"""

from __future__ import annotations

from sqlalchemy import Date, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class no_index_lookup(FunctionElement):
    """An integer column SQLite must not drive a join from (`+column`); the column as is elsewhere.

    SQLite plans without statistics (nothing runs ANALYZE), so for `record.date = day AND
    record.currency_id IN (...)` it guesses the (currency_id, date) key and reads each coin's
    whole history; the date index reads four days. PostgreSQL's statistics choose well.
    """

    type = Integer()
    inherit_cache = True


@compiles(no_index_lookup)
def _no_index_lookup(element: no_index_lookup, compiler, **kw) -> str:
    return compiler.process(element.clauses, **kw)


@compiles(no_index_lookup, "sqlite")
def _no_index_lookup_sqlite(element: no_index_lookup, compiler, **kw) -> str:
    return f"+{compiler.process(element.clauses, **kw)}"


class days_before(FunctionElement):
    """`day - n` calendar days (n is a constant of the code, never user input)."""

    type = Date()
    inherit_cache = True

    def __init__(self, day, days: int) -> None:
        self.days = int(days)
        super().__init__(day)


@compiles(days_before, "postgresql")
def _days_before_postgresql(element: days_before, compiler, **kw) -> str:
    return f"({compiler.process(element.clauses, **kw)} - {element.days})"


@compiles(days_before, "sqlite")
def _days_before_sqlite(element: days_before, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '-{element.days} days')"


class week_start(FunctionElement):
    """The Monday starting the ISO week of a day."""

    type = Date()
    inherit_cache = True


@compiles(week_start, "postgresql")
def _week_start_postgresql(element: week_start, compiler, **kw) -> str:
    return f"CAST(date_trunc('week', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler, **kw) -> str:
    # strftime('%w') is 0 on Sunday; step back (w + 6) % 7 days to Monday.
    day = compiler.process(element.clauses, **kw)
    return f"date({day}, '-' || ((CAST(strftime('%w', {day}) AS INTEGER) + 6) % 7) || ' days')"


class month_start(FunctionElement):
    """The first day of a day's month."""

    type = Date()
    inherit_cache = True


@compiles(month_start, "postgresql")
def _month_start_postgresql(element: month_start, compiler, **kw) -> str:
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler, **kw) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"
