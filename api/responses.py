"""Build JSON responses whose bytes the cache can later store and replay unchanged."""

from __future__ import annotations

from flask import Response, current_app


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise `payload` once, compactly, keeping the field order the code wrote."""
    body = current_app.json.dumps(payload, separators=(",", ":"))
    return Response(body, status=status, headers=headers, mimetype="application/json")


def no_content(headers: dict[str, str] | None = None) -> Response:
    """204 with an empty body."""
    return Response(status=204, headers=headers)
