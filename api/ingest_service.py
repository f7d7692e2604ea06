"""One ingestion run (fetch and store; each committed page invalidates cached reads), shared by
`flask ingest` and the backfill job.

The Flask side of `utilities/exchange_ingest.py`: it supplies the app's engine and settings. ccxt loads
lazily, so importing this module (the job module does, at start-up) never pulls it into a web worker.
"""

from __future__ import annotations

import io
from datetime import date

import click
from flask import current_app

from api.extensions import db


def run_ingest(exchange_name: str, markets: list[tuple[str, date]], until: date, progress: bool = True) -> list:
    """Fetch and store each (market, since); every committed page invalidates cached reads (api/cache)."""
    from utilities.exchange_client import make_exchange
    from utilities.exchange_ingest import ingest_market

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
