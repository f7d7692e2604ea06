"""Build JSON responses whose bytes the cache can later store and replay unchanged."""

from __future__ import annotations

import csv
import io
from operator import itemgetter

from flask import Response, current_app


def json_response(payload: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialise `payload` once, compactly, keeping the field order the code wrote."""
    body = current_app.json.dumps_bytes(payload, separators=(",", ":"))
    return Response(body, status=status, headers=headers, mimetype="application/json")


def no_content(headers: dict[str, str] | None = None) -> Response:
    """204 with an empty body (and no Content-Type)."""
    response = Response(status=204, headers=headers)
    del response.headers["Content-Type"]
    return response


def csv_response(rows: list[dict], fields: list[str], filename: str) -> Response:
    """CSV with a header row; floats are written with repr(), so they parse back identically.

    The csv module's C writer takes tuples picked by `itemgetter` (C too): no Python per value.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    pick = itemgetter(*fields) if len(fields) > 1 else (lambda row: (row[fields[0]],))
    writer.writerows(map(pick, rows))
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
