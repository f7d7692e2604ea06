"""`GET /api/v1/currencies/<symbol>/history`: OHLCV candles by day, ISO week or month."""

from flasgger import swag_from
from flask import Response, request
from flask_restful import Resource

from api.cache.response import response_cache
from api.docs import spec_path
from api.errors import ApiError, answers_errors
from api.extensions import db
from api.freshness import with_data_through
from api.responses import csv_response, json_response, no_content
from api.sql.history import MAX_CANDLES, HistoryQuery, price_history
from api.v1.params import parse_history_args, parse_symbol

CANDLE_FIELDS = [
    "period_start",
    "days",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "market_cap",
    "source",
    "volume_estimated",
    "market_cap_estimated",
    "volume_source",
    "marketcap_source",
    "volume_scope",
]


@answers_errors
def render_history(query: HistoryQuery, media: str) -> Response:
    history = price_history(db.session, query)
    if not history.found:
        raise ApiError(404, f"Unknown symbol: {query.symbol}")
    if history.too_many:
        raise ApiError(
            400,
            f"More than {MAX_CANDLES} candles: narrow start/end or use a longer interval (1w or 1M)",
        )
    if not history.candles:
        return with_data_through(no_content(), history.data_through)
    if media == "csv":
        name = f"{query.symbol}-{query.interval}-{history.candles[0]['period_start']}.csv"
        response = csv_response(history.candles, CANDLE_FIELDS, name)
    else:
        response = json_response(history.candles)
    response.headers["Vary"] = "Accept"
    return with_data_through(response, history.data_through)


class CurrencyHistory(Resource):
    """Thin resource: validate, then answer through the cache."""

    @swag_from(spec_path("history.yml"))
    def get(self, symbol: str) -> Response:
        """Price history of one currency as daily, weekly or monthly candles."""
        accept_csv = request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
        query, media = parse_history_args(parse_symbol(symbol), request.args, accept_csv)
        return response_cache.respond(query.cache_key(media), lambda: render_history(query, media))
