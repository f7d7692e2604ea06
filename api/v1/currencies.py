"""`/api/v1/currencies` (catalogue, create) and `/api/v1/currencies/<symbol>` (read, rename, delete)."""

from datetime import UTC, date, datetime
from typing import ClassVar

from flasgger import swag_from
from flask import Response, request, url_for
from flask_restful import Resource

from api.access.auth import ADMINS, WRITERS, auth
from api.cache.response import response_cache
from api.docs import spec_path
from api.errors import ApiError, answers_errors
from api.extensions import db
from api.freshness import with_data_through
from api.responses import json_response, no_content
from api.sql.currencies import CatalogueQuery, catalogue_page, currency_summary
from api.sql.tables import latest_day
from api.sql.writes import DuplicateSymbolError, create_currency, delete_currency, rename_currency
from api.v1.bodies import currency_body, json_body, supply_body
from api.v1.params import parse_catalogue_args, parse_symbol


def render_catalogue(query: CatalogueQuery) -> Response:
    page = catalogue_page(db.session, query)
    # No row (a search without match): the latest day comes from a probe of its own.
    through = page.data_through if page.total else latest_day(db.session)
    return with_data_through(json_response(page.rows, headers={"X-Total-Count": str(page.total)}), through)


@answers_errors
def render_currency(symbol: str) -> Response:
    summary = currency_summary(db.session, symbol)
    if summary is None:
        raise ApiError(404, f"Unknown symbol: {symbol}")
    return with_data_through(json_response(summary), summary["last_day"])


def utc_today() -> date:
    return datetime.now(UTC).date()


class CurrencyList(Resource):
    """Thin resource: validate, then answer through the cache, or write."""

    method_decorators: ClassVar[dict] = {"post": [auth.login_required(role=WRITERS)]}

    @swag_from(spec_path("currencies.yml"))
    def get(self) -> Response:
        """Every currency with its stored range and latest close and market cap."""
        query = parse_catalogue_args(request.args)
        return response_cache.respond(query.cache_key(), lambda: render_catalogue(query))

    @swag_from(spec_path("currencies_post.yml"))
    def post(self) -> Response:
        """Create a currency (writer or admin)."""
        body = json_body(request)
        name, symbol = currency_body(body)
        try:
            create_currency(db.session, name, symbol, supply_body(body, utc_today()))
        except DuplicateSymbolError:
            raise ApiError(409, f"Symbol {symbol} already exists") from None
        location = url_for("v1.currency", symbol=symbol)
        summary = currency_summary(db.session, symbol)
        return with_data_through(json_response(summary, 201, headers={"Location": location}), summary["last_day"])


class CurrencyDetail(Resource):
    """One currency; shares the catalogue's fields and SQL."""

    method_decorators: ClassVar[dict] = {
        "put": [auth.login_required(role=WRITERS)],
        "delete": [auth.login_required(role=ADMINS)],
    }

    @swag_from(spec_path("currency.yml"))
    def get(self, symbol: str) -> Response:
        """One currency with its stored range and latest close and market cap."""
        symbol = parse_symbol(symbol)
        return response_cache.respond(f"currency:{symbol}", lambda: render_currency(symbol))

    @swag_from(spec_path("currency_put.yml"))
    def put(self, symbol: str) -> Response:
        """Rename a currency (writer or admin); the symbol itself cannot change."""
        symbol = parse_symbol(symbol)
        body = json_body(request)
        name, _ = currency_body(body, path_symbol=symbol)
        if not rename_currency(db.session, symbol, name, supply_body(body, utc_today())):
            raise ApiError(404, f"Unknown symbol: {symbol}")
        summary = currency_summary(db.session, symbol)
        return with_data_through(json_response(summary), summary["last_day"])

    @swag_from(spec_path("currency_delete.yml"))
    def delete(self, symbol: str) -> Response:
        """Delete a currency and all its records (admin)."""
        symbol = parse_symbol(symbol)
        if not delete_currency(db.session, symbol):
            raise ApiError(404, f"Unknown symbol: {symbol}")
        return no_content()
