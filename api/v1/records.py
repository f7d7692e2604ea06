"""`PUT|DELETE /api/v1/currencies/<symbol>/records`: bulk upsert or delete of daily candles."""

from typing import ClassVar

from flasgger import swag_from
from flask import Response, current_app, request
from flask_restful import Resource

from api.access.auth import ADMINS, WRITERS, auth
from api.docs import spec_path
from api.errors import ApiError, InvalidParams
from api.extensions import db
from api.responses import json_response
from api.sql.writes import delete_records, upsert_records
from api.v1.bodies import candles_body, json_body
from api.v1.params import parse_date_range, parse_symbol


class CurrencyRecords(Resource):
    """Thin resource: authenticate, validate the whole batch, write it in one transaction."""

    method_decorators: ClassVar[dict] = {
        "put": [auth.login_required(role=WRITERS)],
        "delete": [auth.login_required(role=ADMINS)],
    }

    @swag_from(spec_path("records_put.yml"))
    def put(self, symbol: str) -> Response:
        """Insert or replace daily candles (writer or admin); any bad candle rejects the batch."""
        symbol = parse_symbol(symbol)
        candles = candles_body(json_body(request), current_app.config["MAX_CANDLES_PER_WRITE"])
        stored = upsert_records(db.session, symbol, candles)
        if stored is None:
            raise ApiError(404, f"Unknown symbol: {symbol}")
        days = sorted(candle["date"] for candle in candles)
        return json_response(
            {"symbol": symbol, "upserted": stored, "first_day": days[0].isoformat(), "last_day": days[-1].isoformat()}
        )

    @swag_from(spec_path("records_delete.yml"))
    def delete(self, symbol: str) -> Response:
        """Delete the candles between start and end, inclusive (admin); open ends allowed."""
        symbol = parse_symbol(symbol)
        errors: dict[str, str] = {}
        start, end = parse_date_range(request.args, errors)
        if errors:
            raise InvalidParams(errors)
        deleted = delete_records(db.session, symbol, start, end)
        if deleted is None:
            raise ApiError(404, f"Unknown symbol: {symbol}")
        return json_response({"symbol": symbol, "deleted": deleted})
