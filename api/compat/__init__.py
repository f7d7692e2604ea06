"""Thin adapters for other clients' contracts: the Krispyto web client and CoinGecko's clients.

Each surface validates with `api.v1.params`, reads through `api.sql` and answers through the
same response cache (its own key namespace), auth, limits and freshness headers as `/api/v1`;
only the names, the status codes and the error shape (`{"error": "..."}`) are theirs.
"""

from __future__ import annotations

import orjson
from flask import Flask, Response

from api.responses import json_response


def error_body(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """The error shape both foreign contracts share: `{"error": "..."}`."""
    response = json_response({"error": message}, status)
    response.headers.update(headers or {})
    return response


def with_error_key(response: Response) -> Response:
    """Errors the app answers for every route (401, 405, 429, 500: `{"detail"}`) in `{"error"}`.

    Each blueprint registers it as its `after_request`: it runs after the app's handlers, so a
    client of these surfaces never meets the other shape (a 405 is routed nowhere and keeps it)."""
    if response.status_code < 400 or response.mimetype != "application/json" or response.direct_passthrough:
        return response
    try:
        payload = orjson.loads(response.get_data())
    except orjson.JSONDecodeError:
        return response
    if isinstance(payload, dict) and "detail" in payload and "error" not in payload:
        response.set_data(orjson.dumps({"error": payload["detail"]}))
    return response


def register_compat(app: Flask) -> None:
    """`/compat/krispyto` and the CoinGecko subset at `/api/v3`."""
    from api.compat import coingecko, krispyto

    app.register_blueprint(krispyto.blueprint)
    app.register_blueprint(coingecko.blueprint)
