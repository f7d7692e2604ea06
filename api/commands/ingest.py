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
from api.ingest_service import run_ingest
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
@click.option("--exchange", "exchange_name", default=None, help="ccxt exchange id (default: INGEST_EXCHANGE).")
@click.option("--symbols", default="", help="Comma-separated markets, e.g. BTC/USDT,ADA/USDT.")
@click.option("--since", callback=parse_day, help="First day, YYYY-MM-DD.")
@click.option("--until", callback=parse_day, help="Last day, YYYY-MM-DD (default: yesterday, UTC).")
@click.option("--timeframe", default="1d", type=click.Choice(["1d"]), help="Only daily candles are stored.")
@click.option("--update", is_flag=True, help="Continue every tracked currency from its latest stored day.")
@with_appcontext
@one_update_at_a_time
def ingest_command(exchange_name, symbols, since, until, timeframe, update) -> None:
    """Fetch daily OHLCV from an exchange through ccxt and upsert it."""
    config = current_app.config
    exchange_name = exchange_name or config["INGEST_EXCHANGE"]
    until = until or (datetime.now(UTC).date() - timedelta(days=1))
    quote = config["INGEST_QUOTE"]
    if update:
        from utilities.exchange_ingest import latest_stored_days

        latest = latest_stored_days(db.engine)
        if quote in latest:  # the quote asset itself (USDT/USDT) has no market
            click.echo(f"{quote}: skipped, it is the quote asset (INGEST_QUOTE)")
        markets = [
            (f"{symbol}/{quote}", (day + timedelta(days=1)) if day else config["INGEST_DEFAULT_SINCE"])
            for symbol, day in sorted(latest.items())
            if symbol != quote
        ]
        markets = [(market, start) for market, start in markets if start <= until]
    else:
        if not symbols or since is None:
            raise click.UsageError("give --symbols and --since, or --update")
        markets = [(market.strip().upper(), since) for market in symbols.split(",") if market.strip()]
    if since and since > until:
        raise click.UsageError("--since is after --until")
    summaries = run_ingest(exchange_name, markets, until)
    for summary in summaries:
        click.echo(summary.describe())
    failed = [summary for summary in summaries if summary.error]
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(summaries)} markets failed (see above)")
