"""`GET /api/v1/currencies` (the catalogue) and `GET /api/v1/currencies/<symbol>` (one coin)."""

from flasgger import swag_from
from flask import Response, request
from flask_restful import Resource

from api.currency_queries import CatalogueQuery, catalogue_page, currency_summary
from api.docs import spec_path
from api.errors import error_response
from api.extensions import db, response_cache
from api.responses import json_response
from api.v1.params import parse_catalogue_args, parse_symbol


def render_catalogue(query: CatalogueQuery) -> Response:
    page = catalogue_page(db.session, query)
    return json_response(page.rows, headers={"X-Total-Count": str(page.total)})


def render_currency(symbol: str) -> Response:
    summary = currency_summary(db.session, symbol)
    if summary is None:
        return error_response(404, f"Unknown symbol: {symbol}")
    return json_response(summary)


class CurrencyList(Resource):
    """Thin resource: validate, then answer through the cache."""

    @swag_from(spec_path("currencies.yml"))
    def get(self) -> Response:
        """Every currency with its stored range and latest close and market cap."""
        query = parse_catalogue_args(request.args)
        return response_cache.respond(query.cache_key(), lambda: render_catalogue(query))


class CurrencyDetail(Resource):
    """One currency; shares the catalogue's fields and SQL."""

    @swag_from(spec_path("currency.yml"))
    def get(self, symbol: str) -> Response:
        """One currency with its stored range and latest close and market cap."""
        symbol = parse_symbol(symbol)
        return response_cache.respond(f"currency:{symbol}", lambda: render_currency(symbol))
