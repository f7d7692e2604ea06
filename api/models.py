"""Database models: a `Currency` and its daily `Record` candles."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Double, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.extensions import db


class Currency(db.Model):
    """A coin, identified by its upper-case ticker symbol."""

    __tablename__ = "currency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(20), unique=True)

    records: Mapped[list[Record]] = relationship(back_populates="currency", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Currency {self.symbol} {self.name!r}>"


class Record(db.Model):
    """One daily OHLCV candle plus market cap.

    The primary key (currency_id, date) is the uniqueness rule and serves one coin's history
    between two days; `ix_record_date` serves "every coin on day D" for the dashboard.
    """

    __tablename__ = "record"
    __table_args__ = (Index("ix_record_date", "date", "currency_id"),)

    currency_id: Mapped[int] = mapped_column(ForeignKey("currency.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[float] = mapped_column(Double)
    high: Mapped[float] = mapped_column(Double)
    low: Mapped[float] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[float | None] = mapped_column(Double)
    marketcap: Mapped[float | None] = mapped_column(Double)

    currency: Mapped[Currency] = relationship(back_populates="records")

    def __repr__(self) -> str:
        return f"<Record {self.currency_id} {self.date.isoformat()} close={self.close}>"
