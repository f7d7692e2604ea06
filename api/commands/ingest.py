"""`flask ingest`: fetch daily candles from an exchange (ccxt) for given markets, or `--update` all.

`--update` runs on every instance's schedule; an advisory lock lets exactly one do the work.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from api.extensions import db
from api.ingest_service import run_ingest, run_planned_update
from utilities.advisory_lock import DAILY_INGEST_LOCK, exclusive_run


def parse_day(_ctx, _param, value: str | None) -> date | None:
    """Click callback: `--since`/`--until` as a date; anything else is a usage error (exit 2)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not YYYY-MM-DD") from None


def one_update_at_a_time(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap the ingest command: with `--update`, skip (exit 0) while another process holds the lock.

    Every Elastic Beanstalk instance runs the daily job (a leader-only cron entry is lost when the
    leader is replaced); the first to take the lock ingests, the others say so and stop. A late
    second run finds nothing new: `--update` continues from the latest stored day."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("update"):
            return command(*args, **kwargs)
        with exclusive_run(db.engine, DAILY_INGEST_LOCK) as held:
            if not held:
                click.echo("Another process is running `flask ingest --update` on this database: skipped.")
                return None
            return command(*args, **kwargs)

    return guarded


@click.command("ingest")
@click.option(
    "--exchange", "exchange_name", default=None, help="ccxt exchange id for --symbols (default: INGEST_EXCHANGE)."
)
@click.option(
    "--symbols",
    default="",
    help="Markets to fetch by hand (BTC/USDT,ADA/USDT, needs --since); with --update, coins (BTC,ETH).",
)
@click.option("--since", callback=parse_day, help="First day, YYYY-MM-DD.")
@click.option("--until", callback=parse_day, help="Last day, YYYY-MM-DD (default: yesterday, UTC).")
@click.option("--timeframe", default="1d", type=click.Choice(["1d"]), help="Only daily candles are stored.")
@click.option("--update", is_flag=True, help="Bring every tracked coin up to date by the source plan.")
@click.option(
    "--at-startup",
    is_flag=True,
    help="With --update (the server's own run): seed empty tables first (SEED_ON_STARTUP).",
)
@with_appcontext
@one_update_at_a_time
def ingest_command(exchange_name, symbols, since, until, timeframe, update, at_startup) -> None:
    """Fetch daily OHLCV from exchanges through ccxt and upsert it."""
    today = datetime.now(UTC).date()
    until = until or (today - timedelta(days=1))
    if since and since > until:
        raise click.UsageError("--since is after --until")
    names = [item.strip().upper() for item in symbols.split(",") if item.strip()]
    if update:
        if any("/" in name for name in names):
            raise click.UsageError("with --update, --symbols names coins (BTC,ETH), not markets (BTC/USDT)")
        if at_startup:
            seed_if_empty()
        update_by_plan(until, names or None)
        return
    if not names or since is None:
        raise click.UsageError("give --symbols and --since, or --update")
    check_quotes(names)
    summaries = run_ingest(exchange_name or current_app.config["INGEST_EXCHANGE"], [(m, since) for m in names], until)
    for summary in summaries:
        click.echo(summary.describe())
    failed = [summary for summary in summaries if summary.error]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(summaries)} markets failed (see above)")


def check_quotes(markets: list[str]) -> None:
    """Refuse a non-USD quote before any network call (exit 1 with the reason)."""
    from utilities.update_plan import NotUsdQuotedError, check_usd_quote

    try:
        for market in markets:
            check_usd_quote(market, current_app.config["USD_QUOTES"])
    except (NotUsdQuotedError, ValueError) as error:
        raise click.ClickException(str(error)) from None


def seed_if_empty() -> None:
    """The server's own update runs right after boot: load the bundled data first when the tables
    are empty (the seed lock makes it wait for a worker that is seeding), so it continues from it."""
    from sqlalchemy import exists, select

    from utilities.schema import record_table
    from utilities.seeding import seed_from_csv

    config = current_app.config
    with db.engine.connect() as conn:
        empty = not conn.execute(select(exists().where(record_table.c.currency_id.isnot(None)))).scalar()
    if empty and config["SEED_ON_STARTUP"]:
        result = seed_from_csv(db.engine, config["CSV_SOURCE"])
        click.echo(f"Seeded {result.records_inserted} records before the update.")


def update_by_plan(until: date, coins: list[str] | None) -> None:
    """`--update`: one line per coin, one summary; exit 1 only for new breakage or nothing reachable."""
    report = run_planned_update(until, coins)
    if not report.outcomes:
        click.echo(f"Every coin is current through {until}: nothing to fetch.")
        return
    if report.nothing_reachable:
        click.echo(
            f"No exchange is reachable ({', '.join(report.unreachable)}): nothing was fetched; "
            "the next run tries again."
        )
        raise click.ClickException("no exchange reachable")
    for outcome in report.outcomes:
        click.echo(outcome.describe())
    counts = {status: sum(o.status == status for o in report.outcomes) for status in ("active", "delisted", "stale")}
    stored = sum(o.stored for o in report.outcomes)
    click.echo(
        f"{len(report.outcomes)} coins behind, checked through {until}: stored {stored} days; "
        f"{counts['active']} active, {counts['delisted']} delisted, {counts['stale']} stale; "
        f"{report.requests} requests in {report.seconds:.1f} s"
        + (f"; unreachable: {', '.join(report.unreachable)}" if report.unreachable else "")
    )
    for line in report.aggregates.lines() if report.aggregates else ():
        click.echo(line)
    if report.new_breakage:
        names = ", ".join(o.symbol for o in report.new_breakage)
        raise click.ClickException(f"new breakage: {names} had current candles before this run and failed now")
