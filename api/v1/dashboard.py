"""`GET /api/v1/dashboard`: every requested coin on a day, ranked."""

from flasgger import swag_from
from flask import Response, current_app, request
from flask_restful import Resource

from api.cache.response import response_cache
from api.docs import spec_path
from api.errors import ApiError, answers_errors
from api.extensions import db
from api.freshness import with_data_through
from api.responses import json_response, no_content
from api.sql.dashboard import DashboardQuery, UnknownSymbolsError, dashboard_page
from api.sql.tables import latest_day
from api.v1.params import parse_dashboard_args


@answers_errors
def render_dashboard(query: DashboardQuery) -> Response:
    """The uncached answer: 200 rows, 204 when none, 404 naming unknown symbols (or 202 when
    on-demand backfill queued them)."""
    try:
        page = dashboard_page(db.session, query)
    except UnknownSymbolsError as error:
        if current_app.config["ON_DEMAND_INGEST"] and current_app.config["REDIS_URL"]:
            return queue_backfills(error.symbols)
        raise ApiError(404, f"Unknown symbol(s): {', '.join(error.symbols)}") from None
    if page.total == 0:
        one_coin = query.symbols[0] if query.symbols is not None and len(query.symbols) == 1 else None
        return with_data_through(no_content(), latest_day(db.session, one_coin))
    return with_data_through(json_response(page.rows, headers={"X-Total-Count": str(page.total)}), page.data_through)


def queue_backfills(symbols: list[str]) -> Response:
    """202: one backfill job per unknown symbol (never two at once for a symbol).

    Bounded: more unknown symbols than ON_DEMAND_MAX_SYMBOLS is the plain 404; a client past its
    hourly job quota gets 429; Redis down is 503. Nothing here can hold a worker for long.
    """
    from api.backfill_jobs import JobQuotaExceeded, JobsUnavailable, enqueue_backfills

    most = current_app.config["ON_DEMAND_MAX_SYMBOLS"]
    if len(symbols) > most:
        detail = f"Unknown symbol(s): {', '.join(symbols)} (on-demand backfill takes at most {most} per request)"
        raise ApiError(404, detail)
    try:
        jobs = enqueue_backfills(symbols, request.remote_addr or "unknown")  # all or nothing
    except JobQuotaExceeded as exceeded:
        detail = (
            "Too many backfill jobs this hour (from this client, or from all); none queued; retry after Retry-After"
        )
        raise ApiError(429, detail, headers={"Retry-After": str(exceeded.retry_after)}) from None
    except JobsUnavailable:
        detail = "Backfill queue unavailable (Redis not answering); retry later"
        raise ApiError(503, detail, headers={"Retry-After": "5"}) from None
    detail = f"Symbol(s) {', '.join(symbols)} not stored yet: backfill queued; poll /api/v1/jobs/<job>"
    return json_response({"detail": detail, "job": jobs[symbols[0]], "jobs": jobs}, 202)


class Dashboard(Resource):
    """Thin resource: validate, then answer through the cache."""

    @swag_from(spec_path("dashboard.yml"))
    def get(self) -> Response:
        """Rank coins on a day by price, change, volume or market cap."""
        query = parse_dashboard_args(request.args)
        return response_cache.respond(query.cache_key(), lambda: render_dashboard(query))
