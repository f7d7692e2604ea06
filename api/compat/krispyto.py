"""`/compat/krispyto`: the Krispyto reference server's `/dashboard` and `/search`, so its web client
works with only its base URL changed (docs/compat.md).

Same parameters and queries as `/api/v1` (one cache, its own keys); the reference's names
(`crypto`, `24h`, `24h-volume`, `market-cap`...) and `{"error": "..."}` bodies. A valid day without
data is a 404 with `error` (the reference server's own answer; its client shows the message), not
the 204 that `/api/v1` answers and on which that client's `res.json()` throws.
"""

from __future__ import annotations

import dataclasses

from flasgger import swag_from
from flask import Blueprint, Response, request

from api.cache.response import response_cache
from api.compat import error_body, with_error_key
from api.docs import spec_path
from api.extensions import db
from api.freshness import with_data_through
from api.responses import json_response
from api.sql.dashboard import DashboardQuery, UnknownSymbolsError, dashboard_page
from api.sql.search import find_currency
from api.sql.tables import latest_day
from api.v1.params import MAX_PER_PAGE, parse_dashboard_args, parse_search_term

blueprint = Blueprint("krispyto", __name__, url_prefix="/compat/krispyto")
blueprint.after_request(with_error_key)


def krispyto_row(row: dict) -> dict:
    """A /api/v1 dashboard row under the reference server's keys, in its order."""
    return {
        "crypto": row["name"],
        "symbol": row["symbol"],
        "price": row["price"],
        "24h": row["change_24h"],
        "7d": row["change_7d"],
        "1m": row["change_1m"],
        "24h-volume": row["volume_24h"],
        "market-cap": row["market_cap"],
    }


def render_dashboard(query: DashboardQuery) -> Response:
    """The uncached answer: 200 rows, or 404 `{"error"}` for unknown symbols or a day without data."""
    try:
        page = dashboard_page(db.session, query)
    except UnknownSymbolsError as error:
        return error_body(404, f"No currency found with symbol(s): {', '.join(error.symbols)}.")
    if page.total == 0:
        day = query.day.isoformat() if query.day else "the latest day"
        one_coin = query.symbols[0] if query.symbols is not None and len(query.symbols) == 1 else None
        return with_data_through(
            error_body(404, f"No records on {day} for the requested currency."), latest_day(db.session, one_coin)
        )
    rows = [krispyto_row(row) for row in page.rows]
    return with_data_through(json_response(rows, headers={"X-Total-Count": str(page.total)}), page.data_through)


def render_search(term: str) -> Response:
    """The uncached answer: `{"name", "symbol"}`, or 404 `{"error"}`."""
    currency = find_currency(db.session, term)
    if currency is None:
        return error_body(404, f"No currency found with name or symbol '{term}'.")
    return with_data_through(json_response({"name": currency.name, "symbol": currency.symbol}), currency.last_day)


@blueprint.get("/dashboard")
@swag_from(spec_path("compat_krispyto_dashboard.yml"))
def dashboard() -> Response:
    """Krispyto's dashboard: every requested coin on a day, under the reference server's keys."""
    query = parse_dashboard_args(request.args)
    if "per_page" not in request.args:  # the reference has no paging: every coin, up to the largest page
        query = dataclasses.replace(query, per_page=MAX_PER_PAGE)
    return response_cache.respond(f"krispyto:{query.cache_key()}", lambda: render_dashboard(query))


@blueprint.get("/search")
@swag_from(spec_path("compat_krispyto_search.yml"))
def search() -> Response:
    """Krispyto's search: a coin by exact name, else by symbol (case-insensitive)."""
    term = parse_search_term(request.args)
    return response_cache.respond(f"krispyto:search:{term}", lambda: render_search(term))
