"""One JSON error shape for the whole app: `{"detail": "..."}` (plus `errors` for bad params).

Views raise (`ApiError`, `InvalidParams`; Flask, Flask-Limiter and the login throttle raise
werkzeug's `HTTPException`s); the handlers here are the only code that builds an error body.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

from flask import Flask, Response, request
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, TooManyRequests

from api.extensions import db
from api.responses import json_response

log = logging.getLogger(__name__)
P = ParamSpec("P")


class ApiError(Exception):
    """An error a view raises: its status, `detail`, per-field `errors` and extra headers (Retry-After...)."""

    def __init__(
        self, status: int, detail: str, errors: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers


class InvalidParams(ApiError):
    """Parameters or a body failed validation; answered as 400 naming each bad one."""

    def __init__(self, errors: dict[str, str], detail: str | None = None) -> None:
        summary = "; ".join(f"{name}: {message}" for name, message in errors.items())
        super().__init__(400, detail or f"Invalid request parameters: {summary}", errors)


def error_response(status: int, detail: str, errors: dict | None = None, headers: dict | None = None) -> Response:
    """The one place an error body is built (the handlers below call it; views raise instead)."""
    payload: dict = {"detail": detail}
    if errors:
        payload["errors"] = errors
    response = json_response(payload, status)
    response.headers.update(headers or {})
    return response


def handle_api_error(error: ApiError) -> Response:
    """What a view raised: its status, detail, per-field errors and headers."""
    return error_response(error.status, error.detail, error.errors, error.headers)


def handle_http_exception(error: HTTPException) -> Response:
    """Werkzeug's 404/405/429/500... as JSON, keeping headers such as `Allow`; a 500 tells nothing more."""
    detail = error.description
    if isinstance(error, InternalServerError):
        detail = "Internal server error"
    elif isinstance(error, TooManyRequests):
        detail = f"Rate limit exceeded ({error.description}); retry after the Retry-After seconds"
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    return error_response(error.code or 500, detail or error.name, headers=headers)


def handle_data_error(error: DataError) -> Response:
    """400: the database refused a value (out of range, too long, not a valid date): the client's
    input, never a 500. Names the column when the driver reports it, else the body or query."""
    db.session.rollback()
    diagnostics = getattr(error.orig, "diag", None)
    field = getattr(diagnostics, "column_name", None) or ("body" if request.content_length else "query")
    reason = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else "a value is out of range"
    log.warning("Database refused a value (%s): %s", field, reason)
    message = f"holds a value the database cannot store or compute with ({reason[:120]})"
    return error_response(400, f"Invalid request parameters: {field}: {message}", {field: message})


def handle_database_error(error: SQLAlchemyError) -> Response:
    """500 without internals; connection failures get the message clients can act on."""
    if isinstance(error, DataError):
        return handle_data_error(error)
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


def answers_errors(render: Callable[P, Response]) -> Callable[P, Response]:
    """For a cached computation: an error it raises becomes its response, stored (a 404) and replayed."""

    @functools.wraps(render)
    def render_or_error(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return render(*args, **kwargs)
        except ApiError as error:
            return handle_api_error(error)
        except HTTPException as error:
            return handle_http_exception(error)

    return render_or_error


def register_error_handlers(app: Flask) -> None:
    """Bind the handlers; unexpected exceptions reach the HTTPException one as a 500."""
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(SQLAlchemyError, handle_database_error)
