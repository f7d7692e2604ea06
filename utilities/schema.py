"""The database schema, known once: the declarative `Base` and the four models `Currency`,
`Record`, `User` and `Token`, plus the one dialect-aware INSERT.

No Flask here, so the seeder and exchange ingestion (plain SQLAlchemy engines, no app) write
through the same table definitions as the API; Flask-SQLAlchemy binds `Base` in
`api/extensions.py` (`SQLAlchemy(model_class=Base)`), and Alembic compares the migrations
against `Base.metadata`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    false,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.dml import Insert
from werkzeug.security import check_password_hash, generate_password_hash

# Named constraints keep later migrations (and SQLite batch mode) able to drop or alter them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Currency(Base):
    """A coin, identified by its upper-case ticker symbol."""

    __tablename__ = "currency"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    symbol: Mapped[str] = mapped_column(String(20), unique=True)
    # Coins in circulation and the day that figure held: derived from the last reported market cap
    # (market cap / close), or set through the write API; ingested days estimate market cap from it.
    circulating_supply: Mapped[float | None] = mapped_column(Double)
    supply_as_of: Mapped[date | None] = mapped_column(Date)
    # `active`, `delisted` or `stale` since a UTC day, with the reason (docs/data.md, "Status").
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    status_since: Mapped[date | None] = mapped_column(Date)
    status_reason: Mapped[str | None] = mapped_column(String(200))

    records: Mapped[list[Record]] = relationship(back_populates="currency", passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Currency {self.symbol} {self.name!r}>"


class Record(Base):
    """One daily OHLCV candle plus market cap, in USD-equivalent quote units (see docs/data.md).

    `volume` is the day's traded value in the quote currency, never a count of coins. `source`
    says where the row came from (`csv`, an exchange id such as `binance`, `api` for writes);
    `volume_estimated` marks a volume computed as base volume x typical price (H+L+C)/3 because the
    exchange gave no quote volume, `marketcap_estimated` a market cap computed as close x the
    supply last known.

    The primary key (currency_id, date) is the uniqueness rule and serves one coin's history
    between two days; `ix_record_date_prices` serves "every coin on day D" for the dashboard, and on
    PostgreSQL carries close, volume and market cap so those reads never visit the table.
    """

    __tablename__ = "record"
    __table_args__ = (
        Index("ix_record_date_prices", "date", "currency_id", postgresql_include=["close", "volume", "marketcap"]),
    )

    currency_id: Mapped[int] = mapped_column(ForeignKey("currency.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[float] = mapped_column(Double)
    high: Mapped[float] = mapped_column(Double)
    low: Mapped[float] = mapped_column(Double)
    close: Mapped[float] = mapped_column(Double)
    volume: Mapped[float | None] = mapped_column(Double)
    marketcap: Mapped[float | None] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(32), server_default=text("'csv'"))
    volume_estimated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    marketcap_estimated: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # Who supplied each figure (`csv`, `coingecko`, an exchange id, `api`): an exchange candle can
    # carry the aggregator's total volume and market cap.
    volume_source: Mapped[str | None] = mapped_column(String(32))
    marketcap_source: Mapped[str | None] = mapped_column(String(32))

    currency: Mapped[Currency] = relationship(back_populates="records")

    def __repr__(self) -> str:
        return f"<Record {self.currency_id} {self.date.isoformat()} close={self.close} from {self.source}>"


class Supply(Base):
    """Circulating supply of a coin on a known day (coins), from `csv`, `coingecko` or `api`."""

    __tablename__ = "supply"

    currency_id: Mapped[int] = mapped_column(ForeignKey("currency.id", ondelete="CASCADE"), primary_key=True)
    date: Mapped[date] = mapped_column(Date, primary_key=True)
    circulating_supply: Mapped[float] = mapped_column(Double)
    source: Mapped[str] = mapped_column(String(32))

    def __repr__(self) -> str:
        return f"<Supply {self.currency_id} {self.date.isoformat()} {self.circulating_supply} from {self.source}>"


ROLES = ("reader", "writer", "admin")


class User(Base):
    """An API user; the password is stored only as a salted hash (werkzeug.security, scrypt)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tokens: Mapped[list[Token]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Constant-time comparison of the password's hash."""
        return check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.name} {self.role}>"


class Token(Base):
    """A bearer token, stored as its SHA-256 (the token itself is shown once, at creation)."""

    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A token renews itself until this moment (set at the password login, inherited by renewals).
    renewable_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")

    def __repr__(self) -> str:
        return f"<Token {self.id} of user {self.user_id}>"


currency_table: Table = Currency.__table__
record_table: Table = Record.__table__
supply_table: Table = Supply.__table__


def dialect_insert(table: Table, dialect: str) -> Insert:
    """`INSERT` with the dialect's ON CONFLICT clauses (upsert, insert-ignore): PostgreSQL's or SQLite's."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table)
