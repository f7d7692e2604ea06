"""What the stored series look like: ranges, missing days, lineage and suspicious candles.

Plain SQLAlchemy Core over an engine (no Flask), one statement per currency, so a report on
thousands of coins streams with a progress bar instead of holding every row at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import Engine, select

from utilities.schema import currency_table, record_table


@dataclass
class Gap:
    """Consecutive missing days between two stored ones."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def __str__(self) -> str:
        return self.first.isoformat() if self.days == 1 else f"{self.first} .. {self.last} ({self.days} days)"


@dataclass
class CoinReport:
    """One currency's stored series, checked."""

    symbol: str
    name: str
    first_day: date | None = None
    last_day: date | None = None
    stored_days: int = 0
    gaps: list[Gap] = field(default_factory=list)
    by_source: Counter = field(default_factory=Counter)
    estimated_market_caps: int = 0
    estimated_volumes: int = 0
    big_moves: list[tuple[date, float]] = field(default_factory=list)
    zero_volume: list[date] = field(default_factory=list)

    @property
    def missing_days(self) -> int:
        return sum(gap.days for gap in self.gaps)

    @property
    def suspicious(self) -> int:
        return len(self.big_moves) + len(self.zero_volume)


def check_series(symbol: str, name: str, rows: list[tuple], move_percent: float) -> CoinReport:
    """Check one coin's rows (date, close, volume, source, volume_estimated, marketcap_estimated),
    oldest first: a close moving more than `move_percent` % from the previous stored day, or a zero
    volume, is suspicious."""
    report = CoinReport(symbol=symbol, name=name, stored_days=len(rows))
    previous: tuple | None = None
    for day, close, volume, source, volume_estimated, marketcap_estimated in rows:
        report.by_source[source] += 1
        report.estimated_volumes += bool(volume_estimated)
        report.estimated_market_caps += bool(marketcap_estimated)
        if volume == 0:
            report.zero_volume.append(day)
        if previous is not None:
            previous_day, previous_close = previous
            if (day - previous_day).days > 1:
                report.gaps.append(Gap(previous_day + timedelta(days=1), day - timedelta(days=1)))
            if previous_close and abs(close - previous_close) / previous_close * 100 > move_percent:
                report.big_moves.append((day, (close - previous_close) / previous_close * 100))
        previous = (day, close)
    if rows:
        report.first_day, report.last_day = rows[0][0], rows[-1][0]
    return report


def data_report(
    engine: Engine, move_percent: float, symbols: list[str] | None = None, on_coin: Callable[[], None] | None = None
) -> Iterator[CoinReport]:
    """One `CoinReport` per currency (by symbol), reading one coin's rows at a time."""
    currency, record = currency_table, record_table
    coins = select(currency.c.id, currency.c.symbol, currency.c.name).order_by(currency.c.symbol)
    if symbols:
        coins = coins.where(currency.c.symbol.in_(symbols))
    series = select(
        record.c.date,
        record.c.close,
        record.c.volume,
        record.c.source,
        record.c.volume_estimated,
        record.c.marketcap_estimated,
    ).order_by(record.c.date)
    with engine.connect() as conn:
        for currency_id, symbol, name in conn.execute(coins).all():
            rows = conn.execute(series.where(record.c.currency_id == currency_id)).all()
            rows = [(as_date(row[0]), *row[1:]) for row in rows]
            yield check_series(symbol, name, rows, move_percent)
            if on_coin is not None:
                on_coin()


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def count_currencies(engine: Engine, symbols: list[str] | None = None) -> int:
    """How many currencies the report covers (the progress bar's length)."""
    currency = currency_table
    statement = select(currency.c.id)
    if symbols:
        statement = statement.where(currency.c.symbol.in_(symbols))
    with engine.connect() as conn:
        return len(conn.execute(statement).all())
