"""Freshness per coin: the newest stored day, the stalest ACTIVE coin, how many coins are behind,
and the dashboard's default day. Plain functions over Core, no Flask.

Each coin's latest day is one backward probe of the primary key `(currency_id, date)`, so these
cost one probe per coin, never a scan of the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.sql.tables import currency_table, record_table


def _coin_latest_day():
    """The coin's latest stored day (correlated to `currency`): one index probe."""
    record = record_table
    return select(func.max(record.c.date)).where(record.c.currency_id == currency_table.c.id).scalar_subquery()


def default_day() -> ColumnElement:
    """The dashboard's default day: the latest day that every ACTIVE coin has, i.e. the earliest of
    the active coins' latest days, so one coin ahead never empties the table. Coins delisted or
    stale (a known state) do not hold it back; with no active coin it is the latest day of any."""
    earliest_active = select(func.min(_coin_latest_day())).where(currency_table.c.status == "active").scalar_subquery()
    return func.coalesce(earliest_active, select(func.max(record_table.c.date)).scalar_subquery())


@dataclass(frozen=True)
class Freshness:
    """What /ready and /metrics say about how current the data is (days are UTC)."""

    newest_day: date | None
    stalest_symbol: str | None  # the active coin with the oldest latest day
    stalest_day: date | None
    stale_coins: int  # coins not delisted whose latest day is older than today - stale_after_days
    delisted_coins: int


def coin_freshness(session: Session, today: date, stale_after_days: int) -> Freshness:
    """One statement: every coin's latest day and status, summarised."""
    rows = session.execute(select(currency_table.c.symbol, currency_table.c.status, _coin_latest_day())).all()
    days = [(symbol, status, _as_date(day)) for symbol, status, day in rows]
    newest = max((day for _, _, day in days if day is not None), default=None)
    active = [(day, symbol) for symbol, status, day in days if status == "active" and day is not None]
    stalest_day, stalest_symbol = min(active) if active else (None, None)
    horizon = today - timedelta(days=stale_after_days)
    stale = sum(1 for _, status, day in days if status != "delisted" and (day is None or day < horizon))
    delisted = sum(1 for _, status, _ in days if status == "delisted")
    return Freshness(newest, stalest_symbol, stalest_day, stale, delisted)


def _as_date(day) -> date | None:
    return day if isinstance(day, date) or day is None else date.fromisoformat(day)
