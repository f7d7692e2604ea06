"""Ingestion runs for the app (fetch and store; each committed page invalidates cached reads), shared
by `flask ingest` and the backfill job: the Flask side of `utilities/exchange_ingest.py`.

It supplies the app's engine and settings, builds the update plan (`utilities/update_plan.py`) and
the run's exchange pool under one deadline. ccxt loads lazily, so importing this module (the job
module does, at start-up) never pulls it into a web worker.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Collection
from datetime import UTC, date, datetime

import click
from flask import current_app

from api.extensions import db


def exchange_pool():
    """The run's exchanges under one deadline (INGEST_DEADLINE_SECONDS), pointed at
    EXCHANGE_URL_OVERRIDE when set."""
    from utilities.exchange_client import Deadline, ExchangePool

    config = current_app.config
    return ExchangePool(
        deadline=Deadline(config["INGEST_DEADLINE_SECONDS"]),
        url_override=config["EXCHANGE_URL_OVERRIDE"],
        retries=config["INGEST_RETRIES"],
        backoff=config["INGEST_BACKOFF_SECONDS"],
    )


def run_ingest(exchange_name: str, markets: list[tuple[str, date]], until: date, progress: bool = True) -> list:
    """Fetch and store each (market, since) named by hand; every committed page invalidates cached reads."""
    from utilities.exchange_ingest import ingest_market

    session = exchange_pool().session(exchange_name)
    summaries = []
    for market, since in markets:
        days = max((until - since).days + 1, 1)
        label = f"{market} {since} .. {until}"
        with click.progressbar(length=days, label=label, file=None if progress else io.StringIO()) as bar:
            summary = ingest_market(
                db.engine,
                session,
                market,
                since,
                until,
                usd_quotes=current_app.config["USD_QUOTES"],
                on_page=lambda page, bar=bar: bar.update(len(page.rows) + page.skipped),
            )
        summaries.append(summary)
    return summaries


def run_planned_update(
    until: date, symbols: Collection[str] | None = None, on_coin: Callable | None = None, today: date | None = None
):
    """Bring every stored coin (or `symbols`) up to `until` by the source plan; an UpdateReport.

    Then the aggregator rewrites market caps and volumes of the days stored (when present)."""
    from utilities.exchange_ingest import run_update, stored_coins
    from utilities.source_plan import load_source_plan
    from utilities.update_plan import StoredCoin, plan_update

    config = current_app.config
    today = today or datetime.now(UTC).date()
    stored = stored_coins(db.engine)
    if symbols is not None:  # a coin asked for by name may not be stored yet (on-demand backfill)
        known = {coin.symbol for coin in stored}
        stored += [StoredCoin(symbol.upper(), None) for symbol in symbols if symbol.upper() not in known]
    items = plan_update(
        load_source_plan(),
        stored,
        end=until,
        default_since=config["INGEST_DEFAULT_SINCE"],
        usd_quotes=config["USD_QUOTES"],
        symbols=symbols,
    )
    started = time.monotonic()
    report = run_update(
        db.engine, items, exchange_pool(), today=today, usd_quotes=config["USD_QUOTES"], on_coin=on_coin
    )
    report.seconds = time.monotonic() - started
    refresh_aggregates_after(report, items, today)
    return report


def refresh_aggregates_after(report, items, today: date) -> None:
    """The single call site of the aggregator, once per update run, after the candles are stored:
    market caps, total volumes and supply of the days stored become CoinGecko's where it has them,
    else estimates from interpolated supply (utilities/aggregates.py). Never raises for CoinGecko:
    its report (one line per problem) goes on `report.aggregates`."""
    from utilities.aggregates import refresh_aggregates
    from utilities.coingecko import CoinGeckoClient

    report.aggregates = None
    symbols = [outcome.symbol for outcome in report.outcomes if outcome.stored]
    if not symbols:
        return
    config = current_app.config
    client = CoinGeckoClient(
        config["COINGECKO_API_URL"], config["COINGECKO_API_KEY"], deadline=config["COINGECKO_DEADLINE"]
    )
    start = min(item.start for item in items if item.symbol in symbols)
    end = max(item.end for item in items if item.symbol in symbols)
    report.aggregates = refresh_aggregates(db.engine, symbols, start, end, today=today, client=client)
