"""Market cap and volume that keep their meaning after the CSVs end (docs/data.md, "Aggregator").

`refresh_aggregates` runs at the end of each update run, after the exchange candles are stored:

- Days CoinGecko covers get its market cap and its total volume across markets
  (`marketcap_source = volume_source = 'coingecko'`, nothing estimated), and a supply point
  (market cap / price) in `supply`; `/coins/markets` adds today's circulating supply.
- Other exchange days keep the exchange's own volume (its scope shows as `exchange`) and get
  market cap = close x a supply interpolated between the known points, marked estimated. Past the
  newest point (or before the oldest) the supply is held at most `SUPPLY_HOLD_DAYS`; beyond that
  the market cap is null: a supply is never carried for years.
- Figures reported by the CSVs or a writer (`csv`, `api`) are never replaced.

It never raises for an unreachable or refusing aggregator: the report says so in one line and the
exchange values stay, marked estimated. Re-runs converge. Flask-free.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    select,
    update,
)

from utilities.bulk_store import ROWS_CHANGED
from utilities.coingecko import AggregatorError, CoinGeckoClient, DailyAggregate, MarketSnapshot
from utilities.schema import currency_table, dialect_insert, record_table, supply_table
from utilities.source_plan import load_source_plan

log = logging.getLogger(__name__)

# Days a supply point may be held past the newest known point (or before the oldest one).
SUPPLY_HOLD_DAYS = 30
AGGREGATOR = "coingecko"
# Figures someone reported: the aggregator never overwrites them.
REPORTED_SOURCES = frozenset({"csv", "api"})


@dataclass
class CoinAggregate:
    """What one coin's refresh did."""

    symbol: str
    coingecko_id: str | None
    aggregate_days: int = 0  # days whose market cap and volume are now CoinGecko's
    estimated_days: int = 0  # market cap = close x interpolated supply
    no_cap_days: int = 0  # no supply point near enough: market cap null
    exchange_volume_days: int = 0  # volume is one exchange's only (scope `exchange`)
    supply_points: int = 0
    error: str | None = None  # CoinGecko failed this coin (e.g. an unknown id)
    note: str | None = None  # a known state, not a failure (no CoinGecko id in the plan)

    def describe(self) -> str:
        text = (
            f"{self.symbol}: {self.aggregate_days} days from CoinGecko, {self.estimated_days} market caps estimated, "
            f"{self.no_cap_days} without market cap, {self.exchange_volume_days} with exchange-only volume"
        )
        return text + "".join(f"; {extra}" for extra in (self.error, self.note) if extra)


@dataclass
class AggregateReport:
    """The run's outcome: one entry per coin, and one line when the aggregator failed the run.

    An aggregator that fails leaves the exchange values in place, marked: the caller reports it
    and may retry later; it is not by itself a reason for the update run to fail."""

    coins: list[CoinAggregate] = field(default_factory=list)
    problem: str | None = None
    requests: int = 0
    clipped_before: date | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and not any(coin.error for coin in self.coins)

    def lines(self) -> list[str]:
        """Human lines for the update command's output: the problem first, once."""
        lines = (
            [f"Aggregator: {self.problem}; market caps stay estimated, volumes exchange-only"] if self.problem else []
        )
        if self.clipped_before:
            lines.append(
                f"Aggregator: the plan serves history from {self.clipped_before} only "
                "(set COINGECKO_API_KEY with the Pro URL for more); earlier days stay estimated"
            )
        return lines + [coin.describe() for coin in self.coins]


def supply_on(
    points: list[tuple[date, float]],
    day: date,
    hold_days: int = SUPPLY_HOLD_DAYS,
    days: list[date] | None = None,
) -> float | None:
    """Circulating supply on `day`: linear between the two known points around it, held at most
    `hold_days` beyond either end, else None. `points` are sorted by day; `days` is their days,
    when the caller asks for many days of one coin."""
    if not points:
        return None
    days = days if days is not None else [point[0] for point in points]
    index = bisect.bisect_left(days, day)
    if index < len(points) and days[index] == day:
        return points[index][1]
    if index == 0:
        first_day, first = points[0]
        return first if (first_day - day).days <= hold_days else None
    if index == len(points):
        last_day, last = points[-1]
        return last if (day - last_day).days <= hold_days else None
    (before_day, before), (after_day, after) = points[index - 1], points[index]
    share = (day - before_day).days / (after_day - before_day).days
    return before + (after - before) * share


def client_from_config() -> CoinGeckoClient:
    """A client from the settings (config.py reads COINGECKO_* once from the environment)."""
    from config import Config

    return CoinGeckoClient(Config.COINGECKO_API_URL, Config.COINGECKO_API_KEY, deadline=Config.COINGECKO_DEADLINE)


def refresh_aggregates(
    engine: Engine,
    symbols: list[str],
    start: date,
    end: date,
    *,
    today: date,
    client: CoinGeckoClient | None = None,
) -> AggregateReport:
    """Bring the market cap and volume of these coins' stored days in [start, end] to their meaning.

    `symbols` are stored coin symbols (`BTC`, not `BTC/USDT`); `today` is the UTC day of the run
    (never stored: incomplete). Pass the app's engine so the commits invalidate cached reads."""
    client = client or client_from_config()
    plan = load_source_plan()
    report = AggregateReport()
    ids = {symbol.upper(): plan.coingecko_id(symbol) for symbol in symbols}
    snapshots: dict[str, MarketSnapshot] = {}
    wanted = sorted({cg_id for cg_id in ids.values() if cg_id})
    if wanted:
        try:
            snapshots = client.markets(wanted)
        except AggregatorError as error:
            report.problem = _stop(error)
    currencies = _currency_ids(engine, list(ids))
    for symbol, cg_id in ids.items():
        currency_id = currencies.get(symbol)
        if currency_id is None:
            continue
        coin = CoinAggregate(symbol=symbol, coingecko_id=cg_id)
        history: list[DailyAggregate] = []
        if cg_id and report.problem is None:
            try:
                fetched = client.daily_history(cg_id, start, end, today=today)
            except AggregatorError as error:
                if error.stops_run:
                    report.problem = _stop(error)
                else:
                    coin.error = str(error)
            else:
                history = fetched.days
                report.clipped_before = report.clipped_before or fetched.clipped_before
        elif cg_id is None:
            coin.note = "no CoinGecko id in data/sources.toml: market caps estimated from known supply"
        snapshot = snapshots.get(cg_id) if cg_id else None
        with engine.begin() as conn:
            as_of = (snapshot.as_of or today) if snapshot is not None else None
            # The current figure, on the day CoinGecko updated it: never after today, and not at all
            # when that day is older than yesterday (a run given an old `today`).
            if as_of is not None and snapshot.circulating_supply and today - timedelta(days=1) <= as_of <= today:
                coin.supply_points += _store_supply(conn, currency_id, [(as_of, snapshot.circulating_supply)])
            coin.supply_points += _store_supply(
                conn,
                currency_id,
                [(day.day, day.market_cap / day.price) for day in history if day.market_cap and day.price],
            )
            _apply(conn, currency_id, coin, history, start, end)
        report.coins.append(coin)
    report.requests = client.requests
    if report.problem:
        log.warning("%s", report.lines()[0])
    return report


def _stop(error: AggregatorError) -> str:
    return f"CoinGecko {error.kind}: {error}"


def _currency_ids(engine: Engine, symbols: list[str]) -> dict[str, int]:
    currency = currency_table
    with engine.connect() as conn:
        rows = conn.execute(select(currency.c.symbol, currency.c.id).where(currency.c.symbol.in_(symbols))).all()
    return dict(rows)


def _store_supply(conn: Connection, currency_id: int, points: list[tuple[date, float]]) -> int:
    """Upsert CoinGecko's supply points; a `csv` or `api` point of the same day is kept."""
    if not points:
        return 0
    supply = supply_table
    statement = dialect_insert(supply, conn.dialect.name)
    statement = statement.on_conflict_do_update(
        index_elements=[supply.c.currency_id, supply.c.date],
        set_={"circulating_supply": statement.excluded.circulating_supply, "source": statement.excluded.source},
        where=supply.c.source == AGGREGATOR,
    )
    rows = [
        {"currency_id": currency_id, "date": day, "circulating_supply": value, "source": AGGREGATOR}
        for day, value in points
    ]
    # Multi-row VALUES: psycopg2's executemany would be a round trip per point.
    for first in range(0, len(rows), 1000):
        conn.execute(statement.values(rows[first : first + 1000]))
    return len(points)


def _supply_points(conn: Connection, currency_id: int) -> list[tuple[date, float]]:
    supply = supply_table
    rows = conn.execute(
        select(supply.c.date, supply.c.circulating_supply)
        .where(supply.c.currency_id == currency_id, supply.c.circulating_supply > 0)
        .order_by(supply.c.date)
    ).all()
    return [(row[0] if isinstance(row[0], date) else date.fromisoformat(row[0]), row[1]) for row in rows]


_SET_FIGURES = (
    update(record_table)
    .where(record_table.c.currency_id == bindparam("b_currency"), record_table.c.date == bindparam("b_day"))
    .values(
        volume=bindparam("b_volume"),
        volume_source=bindparam("b_volume_source"),
        volume_estimated=bindparam("b_volume_estimated"),
        marketcap=bindparam("b_marketcap"),
        marketcap_source=bindparam("b_marketcap_source"),
        marketcap_estimated=bindparam("b_marketcap_estimated"),
    )
)


# The figures a refresh sets, as the bind names of one change.
_KEYS = (
    "b_currency",
    "b_day",
    "b_volume",
    "b_volume_source",
    "b_volume_estimated",
    "b_marketcap",
    "b_marketcap_source",
    "b_marketcap_estimated",
)
# PostgreSQL: one UPDATE ... FROM (VALUES ...) per page of rows, typed by the template (a column
# of NULLs alone would be text). Fixed SQL: the values travel as parameters.
_PG_UPDATE = (
    "UPDATE record AS r SET volume = v.volume, volume_source = v.volume_source, "
    "volume_estimated = v.volume_estimated, marketcap = v.marketcap, marketcap_source = v.marketcap_source, "
    "marketcap_estimated = v.marketcap_estimated "
    "FROM (VALUES %s) AS v(currency_id, day, volume, volume_source, volume_estimated, marketcap, "
    "marketcap_source, marketcap_estimated) WHERE r.currency_id = v.currency_id AND r.date = v.day"
)
_PG_ROW = (
    "(%s, %s::date, %s::double precision, %s::varchar, %s::boolean, %s::double precision, %s::varchar, %s::boolean)"
)
_PG_PAGE = 2000


def _write_figures(conn: Connection, changes: list[dict]) -> None:
    """One UPDATE per row on SQLite (executemany, in process); on PostgreSQL pages of 2,000 rows
    in one statement each (psycopg2's executemany is a round trip per row: 23 coins x 1,974 days
    took 34 s, and SQLAlchemy's own VALUES construct spends longer compiling than the server runs)."""
    if conn.dialect.name != "postgresql":
        conn.execute(_SET_FIGURES, changes)
        return
    from psycopg2.extras import execute_values  # the PostgreSQL driver, present wherever it is used

    cursor = conn.connection.driver_connection.cursor()
    try:
        rows = [tuple(change[key] for key in _KEYS) for change in changes]
        execute_values(cursor, _PG_UPDATE, rows, template=_PG_ROW, page_size=_PG_PAGE)
    finally:
        cursor.close()
    conn.info[ROWS_CHANGED] = True  # driver SQL bypasses SQLAlchemy's events: the commit invalidates


def _apply(
    conn: Connection, currency_id: int, coin: CoinAggregate, history: list[DailyAggregate], start: date, end: date
) -> None:
    """Rewrite the market cap and volume of the coin's exchange days in range (one executemany)."""
    record = record_table
    aggregates = {day.day: day for day in history}
    points = _supply_points(conn, currency_id)
    point_days = [point[0] for point in points]
    rows = conn.execute(
        select(
            record.c.date,
            record.c.close,
            record.c.source,
            record.c.volume,
            record.c.volume_source,
            record.c.volume_estimated,
            record.c.marketcap,
            record.c.marketcap_source,
            record.c.marketcap_estimated,
        ).where(record.c.currency_id == currency_id, record.c.date >= start, record.c.date <= end)
    ).all()
    changes = []
    for row in rows:
        day, close, source, volume, volume_source, volume_estimated, marketcap, marketcap_source, _ = row
        if source in REPORTED_SOURCES:
            continue  # the CSVs' and writers' figures are reported; only exchange candles are completed
        day = day if isinstance(day, date) else date.fromisoformat(day)
        aggregate = aggregates.get(day)
        change = {"b_currency": currency_id, "b_day": day}
        change |= _volume(coin, source, aggregate, volume, volume_source, bool(volume_estimated))
        change |= _market_cap(coin, source, aggregate, close, marketcap, marketcap_source, points, day, point_days)
        stored = (volume, volume_source, bool(volume_estimated), marketcap, marketcap_source, bool(row[-1]))
        if tuple(change[key] for key in _KEYS[2:]) != stored:  # a re-run writes nothing
            changes.append(change)
    if changes:
        _write_figures(conn, changes)
    _refresh_current_supply(conn, currency_id, points)


def _volume(
    coin: CoinAggregate,
    source: str,
    aggregate: DailyAggregate | None,
    volume: float | None,
    volume_source: str | None,
    volume_estimated: bool,
) -> dict:
    """CoinGecko's total volume where it has the day; else what is stored, with its source."""
    if aggregate is not None and aggregate.total_volume is not None:
        return {"b_volume": aggregate.total_volume, "b_volume_source": AGGREGATOR, "b_volume_estimated": False}
    if volume_source == AGGREGATOR:  # from an earlier run whose window reached this day
        return {"b_volume": volume, "b_volume_source": AGGREGATOR, "b_volume_estimated": volume_estimated}
    coin.exchange_volume_days += volume is not None
    return {
        "b_volume": volume,
        "b_volume_source": source if volume is not None else None,
        "b_volume_estimated": volume_estimated,
    }


def _market_cap(
    coin: CoinAggregate,
    source: str,
    aggregate: DailyAggregate | None,
    close: float,
    marketcap: float | None,
    marketcap_source: str | None,
    points: list[tuple[date, float]],
    day: date,
    days: list[date],
) -> dict:
    """CoinGecko's market cap where it has the day; else close x interpolated supply, estimated."""
    if aggregate is not None and aggregate.market_cap is not None:
        coin.aggregate_days += 1
        return {"b_marketcap": aggregate.market_cap, "b_marketcap_source": AGGREGATOR, "b_marketcap_estimated": False}
    if marketcap_source == AGGREGATOR and marketcap is not None:
        coin.aggregate_days += 1
        return {"b_marketcap": marketcap, "b_marketcap_source": AGGREGATOR, "b_marketcap_estimated": False}
    supply = supply_on(points, day, days=days)
    if supply is None or close is None:
        coin.no_cap_days += 1
        return {"b_marketcap": None, "b_marketcap_source": None, "b_marketcap_estimated": False}
    coin.estimated_days += 1
    return {"b_marketcap": close * supply, "b_marketcap_source": source, "b_marketcap_estimated": True}


def _refresh_current_supply(conn: Connection, currency_id: int, points: list[tuple[date, float]]) -> None:
    """The currency's `circulating_supply` / `supply_as_of` follow the newest known point."""
    if not points:
        return
    currency = currency_table
    day, value = points[-1]
    conn.execute(
        update(currency)
        .where(currency.c.id == currency_id)
        .where((currency.c.supply_as_of.is_(None)) | (currency.c.supply_as_of <= day))
        .values(circulating_supply=value, supply_as_of=day)
    )
