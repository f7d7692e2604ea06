"""`flask ingest` and `flask worker`: the Flask side of exchange ingestion (ccxt loads lazily)."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from api.extensions import db
from api.ingest_lock import one_update_at_a_time


def parse_day(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not YYYY-MM-DD") from None


def run_ingest(exchange_name: str, markets: list[tuple[str, date]], until: date, progress: bool = True) -> list:
    """Fetch and store each (market, since); invalidate cached reads when anything was stored."""
    from utilities.exchange import make_exchange
    from utilities.ingest import ingest_market

    exchange = make_exchange(exchange_name)
    summaries = []
    for market, since in markets:
        days = max((until - since).days + 1, 1)
        label = f"{market} {since} .. {until}"
        with click.progressbar(length=days, label=label, file=None if progress else io.StringIO()) as bar:
            summary = ingest_market(
                db.engine,
                exchange,
                market,
                since,
                until,
                usd_quotes=current_app.config["USD_QUOTES"],
                on_page=lambda page, bar=bar: bar.update(len(page.rows) + page.skipped),
            )
        summaries.append(summary)
    return summaries


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
        from utilities.ingest import latest_stored_days

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


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run queued backfill jobs (RQ) inside this app's context."""
    if not current_app.config["REDIS_URL"]:
        # Started by the Procfile everywhere: without Redis there is no queue, so wait idle
        # instead of exiting and being restarted in a loop.
        click.echo("REDIS_URL is not set: no job queue; the worker idles.", err=True)
        if not burst:
            threading.Event().wait()
        return
    from api.jobs import run_worker

    run_worker(burst=burst)
