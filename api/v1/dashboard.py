"""`GET /api/v1/dashboard`: every requested coin on a day, ranked."""

from flasgger import swag_from
from flask import Response, request
from flask_restful import Resource

from api.docs import spec_path
from api.errors import error_response
from api.extensions import db, response_cache
from api.queries import DashboardQuery, UnknownSymbolsError, dashboard_page
from api.responses import json_response, no_content
from api.v1.params import parse_dashboard_args


def render_dashboard(query: DashboardQuery) -> Response:
    """The uncached answer: 200 rows, 204 when none, 404 naming unknown symbols."""
    try:
        page = dashboard_page(db.session, query)
    except UnknownSymbolsError as error:
        return error_response(404, f"Unknown symbol(s): {', '.join(error.symbols)}")
    if page.total == 0:
        return no_content()
    return json_response(page.rows, headers={"X-Total-Count": str(page.total)})


class Dashboard(Resource):
    """Thin resource: validate, then answer through the cache."""

    @swag_from(spec_path("dashboard.yml"))
    def get(self) -> Response:
        """Rank coins on a day by price, change, volume or market cap."""
        query = parse_dashboard_args(request.args)
        return response_cache.respond(query.cache_key(), lambda: render_dashboard(query))
