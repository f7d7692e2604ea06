"""Freshness of the stored data: the `X-Data-Through` header, its age, and the age gauge.

Each read statement returns the latest stored day beside its rows (one index probe in the same
statement), the resource puts it in `X-Data-Through`, and the cache stores that header with the
body, so a cache hit carries it at no cost and a write (which bumps the data version) renews it.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime

from flask import Flask, Response, current_app
from prometheus_client import Gauge
from sqlalchemy.exc import DBAPIError

from api.extensions import db
from api.sql.tables import latest_day

log = logging.getLogger(__name__)
DATA_THROUGH_HEADER = "X-Data-Through"


def with_data_through(response: Response, day: date | str | None) -> Response:
    """Stamp the response with the latest stored day it speaks for (nothing when none is stored)."""
    if day is not None:
        response.headers[DATA_THROUGH_HEADER] = day if isinstance(day, str) else day.isoformat()
    return response


def age_in_days(day: date | None, today: date | None = None) -> int | None:
    """Whole days between the latest stored day and today (UTC); None when nothing is stored."""
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


def observe_age(day: date | None) -> int | None:
    """Set the `crypto_api_data_age_days` gauge (when metrics are on) and return the age."""
    age = age_in_days(day)
    gauge = current_app.extensions.get("data_age_gauge")
    if gauge is not None and age is not None:
        gauge.set(age)
    return age


def register_data_age_gauge(app: Flask, registry) -> None:
    """`crypto_api_data_age_days`: days since the latest stored day, refreshed on every scrape of
    `/metrics` (one index probe) and every `/ready`; alert when it passes STALE_AFTER_DAYS."""
    app.extensions["data_age_gauge"] = Gauge(
        "crypto_api_data_age_days",
        "Days between today (UTC) and the latest stored day of any currency",
        registry=registry,
        multiprocess_mode="mostrecent",
    )

    # The scrape itself refreshes it (the exporter's view, wrapped): no hook on every other request.
    export = app.view_functions.get("prometheus_metrics")
    if export is None:  # the exporter adds no /metrics in the reloader's child (`flask run --debug`)
        return

    @functools.wraps(export)
    def refresh_then_export(*args, **kwargs):
        observe_age(stored_through())
        return export(*args, **kwargs)

    app.view_functions["prometheus_metrics"] = refresh_then_export
