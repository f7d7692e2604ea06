"""Freshness of the stored data: the `X-Data-Through` header, the data's age per coin, and gauges.

Each read statement returns the latest stored day beside its rows (one index probe in the same
statement), the resource puts it in `X-Data-Through`, and the cache stores that header with the
body, so a cache hit carries it at no cost and a write (which bumps the data version) renews it.

`/ready` and `/metrics` go further than the newest day (which one coin ahead would set): they name
the stalest ACTIVE coin and its day, and count the coins that are behind (api/sql/freshness.py).
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime

from flask import Flask, Response, current_app
from prometheus_client import Gauge
from sqlalchemy.exc import DBAPIError

from api.extensions import db
from api.sql.freshness import Freshness, coin_freshness
from api.sql.tables import latest_day

log = logging.getLogger(__name__)
DATA_THROUGH_HEADER = "X-Data-Through"


def with_data_through(response: Response, day: date | str | None) -> Response:
    """Stamp the response with the latest stored day it speaks for (nothing when none is stored)."""
    if day is not None:
        response.headers[DATA_THROUGH_HEADER] = day if isinstance(day, str) else day.isoformat()
    return response


def age_in_days(day: date | None, today: date | None = None) -> int | None:
    """Whole days between a stored day and today (UTC); None when nothing is stored."""
    if day is None:
        return None
    return ((today or datetime.now(UTC).date()) - day).days


def stored_through() -> date | None:
    """The latest stored day of any coin (one index probe); None when the table is empty or
    cannot be read (missing schema, database down): freshness is reported, never required."""
    try:
        return latest_day(db.session)
    except DBAPIError as error:
        db.session.rollback()
        log.warning("Cannot read the latest stored day: %s", error.orig)
        return None


def current_freshness() -> Freshness | None:
    """Per-coin freshness (one statement); None when it cannot be read."""
    try:
        return coin_freshness(db.session, datetime.now(UTC).date(), current_app.config["STALE_AFTER_DAYS"])
    except DBAPIError as error:
        db.session.rollback()
        log.warning("Cannot read the coins' latest days: %s", error.orig)
        return None


def freshness_fields(freshness: Freshness | None) -> dict:
    """/ready's freshness fields: the newest day, its age, the stalest active coin, the stale count."""
    if freshness is None:
        return {"data_through": None, "data_age_days": None, "stalest_coin": None, "stale_coins": None,
                "delisted_coins": None}  # fmt: skip
    stalest = None
    if freshness.stalest_symbol is not None:
        stalest = {
            "symbol": freshness.stalest_symbol,
            "last_day": freshness.stalest_day.isoformat(),
            "age_days": age_in_days(freshness.stalest_day),
        }
    return {
        "data_through": freshness.newest_day.isoformat() if freshness.newest_day else None,
        "data_age_days": age_in_days(freshness.newest_day),
        "stalest_coin": stalest,
        "stale_coins": freshness.stale_coins,
        "delisted_coins": freshness.delisted_coins,
    }


def observe(freshness: Freshness | None) -> None:
    """Set the freshness gauges (when metrics are on)."""
    gauges = current_app.extensions.get("freshness_gauges")
    if gauges is None or freshness is None:
        return
    age, stalest, stale = gauges
    if freshness.newest_day is not None:
        age.set(age_in_days(freshness.newest_day))
    stale.set(freshness.stale_coins)
    if freshness.stalest_symbol is not None:
        stalest.clear()  # one series: the coin that is stalest now
        stalest.labels(symbol=freshness.stalest_symbol).set(age_in_days(freshness.stalest_day))


def observe_age(day: date | None) -> int | None:
    """Set the `crypto_api_data_age_days` gauge (when metrics are on) and return the age."""
    age = age_in_days(day)
    gauges = current_app.extensions.get("freshness_gauges")
    if gauges is not None and age is not None:
        gauges[0].set(age)
    return age


def register_data_age_gauge(app: Flask, registry) -> None:
    """The freshness gauges, refreshed on every scrape of `/metrics` (one statement) and every `/ready`:
    `crypto_api_data_age_days` (newest day of any coin), `crypto_api_stalest_active_coin_age_days`
    (label `symbol`) and `crypto_api_stale_coins`; alert when either age passes STALE_AFTER_DAYS."""
    app.extensions["freshness_gauges"] = (
        Gauge(
            "crypto_api_data_age_days",
            "Days between today (UTC) and the latest stored day of any currency",
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        Gauge(
            "crypto_api_stalest_active_coin_age_days",
            "Days between today (UTC) and the latest stored day of the stalest active currency",
            ("symbol",),
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
        Gauge(
            "crypto_api_stale_coins",
            "Currencies (not delisted) whose latest stored day is older than STALE_AFTER_DAYS",
            registry=registry,
            multiprocess_mode="mostrecent",
        ),
    )

    # The scrape itself refreshes them (the exporter's view, wrapped): no hook on every other request.
    export = app.view_functions.get("prometheus_metrics")
    if export is None:  # the exporter adds no /metrics in the reloader's child (`flask run --debug`)
        return

    @functools.wraps(export)
    def refresh_then_export(*args, **kwargs):
        observe(current_freshness())
        return export(*args, **kwargs)

    app.view_functions["prometheus_metrics"] = refresh_then_export
