"""Freshness of the stored data: the `X-Data-Through` header, its age, and the age gauge.

Each read statement returns the latest stored day beside its rows (one index probe in the same
statement), the resource puts it in `X-Data-Through`, and the cache stores that header with the
body, so a cache hit carries it at no cost and a write (which bumps the data version) renews it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Response

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
