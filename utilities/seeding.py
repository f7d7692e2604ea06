"""Start-up inspector: check the schema exists and seed empty tables from CSV, exactly once.

Works on a plain SQLAlchemy engine (no Flask), with the models' tables (`utilities/schema.py`).
Several processes may call it at once (gunicorn workers on an empty database): a
cross-process lock (a PostgreSQL advisory lock, or a file lock beside a SQLite file)
serialises them, and the emptiness check runs inside the lock, so one process seeds and
the others find the work done.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import click
from sqlalchemy import Engine, Table, func, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from utilities.advisory_lock import SEED_LOCK, held_lock
from utilities.bulk_store import refresh_supply, store_records
from utilities.csv_source import count_sources, read_source
from utilities.schema import currency_table, dialect_insert, record_table

log = logging.getLogger(__name__)

REQUIRED_TABLES = ("currency", "record")


class SchemaMissingError(RuntimeError):
    """The tables do not exist yet: `flask db upgrade` has not run."""


@dataclass
class SeedResult:
    """What a seed run did, for logs, the CLI and tests."""

    seeded: bool
    files: int = 0
    records_inserted: int = 0
    records_total: int = 0
    seconds: float = 0.0
    reason: str = ""


def _tables(engine: Engine) -> tuple[Table, Table]:
    """The currency and record tables, once the migrations created them."""
    missing = [name for name in REQUIRED_TABLES if not inspect(engine).has_table(name)]
    if missing:
        raise SchemaMissingError(
            f"Database schema is missing (no table {', '.join(missing)}): run `flask db upgrade` first"
        )
    return currency_table, record_table


def _insert_ignoring_duplicates(table: Table, dialect: str):
    """An INSERT that skips rows whose key already exists, so re-runs converge."""
    return dialect_insert(table, dialect).on_conflict_do_nothing()


@contextlib.contextmanager
def seed_lock(engine: Engine) -> Iterator[None]:
    """Hold a lock that only one process on this database can hold at a time."""
    dialect = engine.dialect.name
    if dialect == "postgresql":
        with engine.connect() as conn, held_lock(conn, SEED_LOCK, wait=True):
            yield
        return
    database = engine.url.database
    if dialect == "sqlite" and database and database != ":memory:":
        with open(f"{database}.seed-lock", "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    yield


def _counts(engine: Engine, currency: Table, record: Table) -> tuple[int, int]:
    with engine.connect() as conn:
        row = conn.execute(
            select(
                select(func.count()).select_from(currency).scalar_subquery(),
                select(func.count()).select_from(record).scalar_subquery(),
            )
        ).one()
    return int(row[0]), int(row[1])


def seed_from_csv(
    engine: Engine,
    source: str,
    *,
    only_if_empty: bool = False,
    progress: bool = True,
) -> SeedResult:
    """Load every CSV of `source` in one transaction (all or nothing), skipping rows already stored.

    With `only_if_empty`, do nothing unless `currency` or `record` is empty (the start-up rule).
    """
    currency, record = _tables(engine)
    started = time.perf_counter()
    with seed_lock(engine):
        currencies_before, records_before = _counts(engine, currency, record)
        if only_if_empty and currencies_before and records_before:
            return SeedResult(seeded=False, records_total=records_before, reason="tables already hold data")
        insert_currency = _insert_ignoring_duplicates(currency, engine.dialect.name)
        files = 0
        coins = read_source(source)
        total = count_sources(source) if progress else 0
        if progress and _on_a_terminal():
            bar = click.progressbar(
                coins,
                length=total or None,
                label="Seeding from CSV",
                item_show_func=lambda coin: coin.symbol if coin else None,
            )
        else:  # a log or a pipe gets one line per file instead of a bar it would never redraw
            bar = contextlib.nullcontext(_progress_lines(coins, total) if progress else coins)
        # All or nothing for the run: every file is read and validated before anything is
        # written, and the writes share one transaction, so a bad later file (it raises
        # CsvSourceError naming the file and line) leaves the database as it was.
        with bar as coins:
            validated = list(coins)
        with engine.begin() as conn:
            for coin in validated:
                conn.execute(insert_currency, {"name": coin.name, "symbol": coin.symbol})
                currency_id = conn.execute(select(currency.c.id).where(currency.c.symbol == coin.symbol)).scalar_one()
                store_records(conn, currency_id, coin.rows, replace=False, source="csv")
                refresh_supply(conn, currency_id)
                files += 1
        _, records_after = _counts(engine, currency, record)
    inserted = records_after - records_before
    if inserted:
        refresh_statistics(engine)
    return SeedResult(
        seeded=True,
        files=files,
        records_inserted=inserted,
        records_total=records_after,
        seconds=time.perf_counter() - started,
    )


def _on_a_terminal() -> bool:
    """Whether stdout is a terminal (click's bar redraws itself there; elsewhere it prints nothing)."""
    return bool(sys.stdout is not None and sys.stdout.isatty())


def _progress_lines(coins: Iterable, total: int) -> Iterator:
    """Each coin, after echoing `Seeding from CSV: 3/23 BTC` (no terminal: no progress bar)."""
    for done, coin in enumerate(coins, start=1):
        click.echo(f"Seeding from CSV: {done}/{total or '?'} {coin.symbol}")
        yield coin


def refresh_statistics(engine: Engine) -> None:
    """ANALYZE after a bulk load on PostgreSQL: until autovacuum gets to it, the planner has no
    statistics and picks sequential scans (the dashboard took 5.7 ms instead of 1.0 ms)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE currency"))
            conn.execute(text("ANALYZE record"))


def inspect_and_seed(engine: Engine, source: str) -> SeedResult:
    """The start-up rule: say clearly when the schema is missing, seed empty tables once."""
    try:
        result = seed_from_csv(engine, source, only_if_empty=True)
    except SchemaMissingError as error:
        log.error("%s (the run command `make run` does this for you)", error)
        return SeedResult(seeded=False, reason=str(error))
    _log_result(result, source)
    return result


def _log_result(result: SeedResult, source: str) -> None:
    if result.seeded:
        log.info(
            "Seeded %d records from %d CSV files in %.2f s (source: %s)",
            result.records_inserted,
            result.files,
            result.seconds,
            source,
        )
    else:
        log.info("Start-up inspector: %s (%d records); not seeding", result.reason, result.records_total)


def seed_when_reachable(
    engine: Engine,
    source: str,
    *,
    stop: threading.Event | None = None,
    first_delay: float = 1.0,
    max_delay: float = 30.0,
) -> SeedResult | None:
    """The start-up rule, retried with back-off while the database is unreachable or its schema
    is missing, so a server that booted during an outage seeds once the database answers.

    Returns the result, or None when `stop` was set first. Each kind of failure is logged once
    per outage, not once per attempt.
    """
    stop = stop or threading.Event()
    delay = first_delay
    last_problem = ""
    while not stop.is_set():
        try:
            result = seed_from_csv(engine, source, only_if_empty=True)
        except SchemaMissingError as error:
            problem = f"{error} (the run command `make run` and the Docker image do this for you)"
        except (OperationalError, PoolTimeoutError) as error:
            lines = str(getattr(error, "orig", None) or error).strip().splitlines()
            problem = f"Database not reachable: {lines[0] if lines else type(error).__name__}"
        else:
            if last_problem:
                log.warning("Start-up inspector: the database answers again")
            _log_result(result, source)
            return result
        if problem != last_problem:
            log.error(
                "Start-up inspector: %s; retrying with back-off (up to %.0f s) until it answers", problem, max_delay
            )
            last_problem = problem
        stop.wait(delay)
        delay = min(delay * 2, max_delay)
    return None
