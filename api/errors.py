"""One JSON error shape for the whole app: `{"detail": "..."}` (plus `errors` for bad params)."""

from __future__ import annotations

import logging

from flask import Flask, Response
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests

from api.extensions import db
from api.responses import json_response

log = logging.getLogger(__name__)


class InvalidParams(Exception):
    """Parameters or a body failed validation; answered as 400 naming each bad one."""

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors
        self.detail = detail


def error_response(status: int, detail: str, errors: dict[str, str] | None = None) -> Response:
    """The one way to answer an error."""
    payload: dict = {"detail": detail}
    if errors:
        payload["errors"] = errors
    return json_response(payload, status)


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug's 404/405/500... as JSON, keeping headers such as `Allow`.

    Unhandled exceptions arrive here as InternalServerError after Flask logged them.
    """
    detail = error.description
    if isinstance(error, InternalServerError):
        detail = "Internal server error"
    elif isinstance(error, TooManyRequests):
        detail = f"Rate limit exceeded ({error.description}); retry after the Retry-After seconds"
    response = error_response(error.code or 500, detail or error.name)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def handle_invalid_params(error: InvalidParams) -> Response:
    """400 with a one-line summary and the per-parameter messages."""
    return error_response(400, error.detail or f"Invalid request parameters: {error}", error.errors)


def handle_database_error(error: SQLAlchemyError) -> Response:
    """500 without internals; connection failures get the message clients can act on."""
    db.session.rollback()
    # A full pool (every connection held past DATABASE_POOL_TIMEOUT) is the database being slow.
    connection_lost = isinstance(error, PoolTimeoutError) or (
        isinstance(error, DBAPIError)
        and (error.connection_invalidated or type(error).__name__ in {"OperationalError", "InterfaceError"})
    )
    if connection_lost:
        log.error("Database connection error: %s", error.orig if isinstance(error, DBAPIError) else error)
        return error_response(500, "Database connection error")
    log.exception("Database error")
    return error_response(500, "Internal server error")


def register_error_handlers(app: Flask) -> None:
    """Bind the handlers; unexpected exceptions reach the HTTPException one as a 500."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(InvalidParams, handle_invalid_params)
    app.register_error_handler(SQLAlchemyError, handle_database_error)
