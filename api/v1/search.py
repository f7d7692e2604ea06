"""`GET /api/v1/search`: find a coin by name or symbol."""

from flasgger import swag_from
from flask import Response, request
from flask_restful import Resource

from api.cache.response import response_cache
from api.docs import spec_path
from api.errors import ApiError, answers_errors
from api.extensions import db
from api.freshness import with_data_through
from api.responses import json_response
from api.sql.search import find_currency
from api.v1.params import parse_search_term


@answers_errors
def render_search(term: str) -> Response:
    """The uncached answer: the coin, or 404."""
    currency = find_currency(db.session, term)
    if currency is None:
        raise ApiError(404, f"No currency named or with symbol {term!r}")
    return with_data_through(json_response({"name": currency.name, "symbol": currency.symbol}), currency.last_day)


class Search(Resource):
    """Thin resource: validate, then answer through the cache."""

    @swag_from(spec_path("search.yml"))
    def get(self) -> Response:
        """Find a coin by exact name, else by symbol (case-insensitive)."""
        term = parse_search_term(request.args)
        return response_cache.respond(f"search:{term}", lambda: render_search(term))
