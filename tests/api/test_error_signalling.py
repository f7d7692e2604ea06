"""One way to signal errors: views raise, `api/errors.py` alone builds error bodies, and every
error keeps its exact status, body and headers (the ones views used to build by hand)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.writable import GOOD_CANDLES, basic

CHALLENGES = 'Basic realm="crypto-api", Bearer realm="crypto-api"'
AUTH_REQUIRED = {"detail": "Authentication required: valid Basic credentials or a Bearer token"}
# Status documents that carry a `detail` for people but are not errors: /ready's 503 and the 202.
STATUS_DOCUMENTS = {"api/health.py", "api/v1/dashboard.py"}


def test_only_api_errors_builds_error_bodies(project_root: Path):
    """No `error_response(...)` call and no `{"detail": ...}` literal outside api/errors.py."""
    offenders = []
    for path in sorted((project_root / "api").rglob("*.py")):
        name = path.relative_to(project_root).as_posix()
        if name == "api/errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", "")) == "error_response"
            ):
                offenders.append(f"{name}:{node.lineno} calls error_response")
            detail_key = isinstance(node, ast.Dict) and any(
                isinstance(key, ast.Constant) and key.value == "detail" for key in node.keys
            )
            if detail_key and name not in STATUS_DOCUMENTS:
                offenders.append(f"{name}:{node.lineno} builds a detail body")
    assert offenders == []


def test_raised_write_errors_keep_their_answers(writable):
    client = writable.test_client()
    duplicate = client.post("/api/v1/currencies", headers=basic("wes"), json={"name": "Alpha", "symbol": "AAA"})
    assert duplicate.status_code == 409 and duplicate.get_json() == {"detail": "Symbol AAA already exists"}
    unknown = {"detail": "Unknown symbol: ZZZ"}
    answers = [
        client.put("/api/v1/currencies/ZZZ", headers=basic("wes"), json={"name": "Zed"}),
        client.delete("/api/v1/currencies/ZZZ", headers=basic("ann")),
        client.put("/api/v1/currencies/ZZZ/records", headers=basic("wes"), json=GOOD_CANDLES),
        client.delete("/api/v1/currencies/ZZZ/records", headers=basic("ann")),
    ]
    for answer in answers:
        assert answer.status_code == 404 and answer.content_type == "application/json"
        assert answer.get_json() == unknown and "WWW-Authenticate" not in answer.headers


def test_auth_errors_keep_body_and_challenge(writable):
    client = writable.test_client()
    for headers in ({}, basic("wes", "wrong"), {"Authorization": "Bearer nope"}):
        refused = client.post("/api/v1/currencies", headers=headers, json={"name": "Zed", "symbol": "ZZZ"})
        assert refused.status_code == 401 and refused.get_json() == AUTH_REQUIRED
        assert refused.headers.get_all("WWW-Authenticate") == [CHALLENGES]
    forbidden = client.delete("/api/v1/currencies/AAA", headers=basic("wes"))
    detail = "Your role may not do this: it needs admin (yours is writer)"
    assert forbidden.status_code == 403 and forbidden.get_json() == {"detail": detail}
    # As before errors were raised: Flask-HTTPAuth's wrapper stamped its Bearer challenge on the 403.
    assert forbidden.headers.get_all("WWW-Authenticate") == ['Bearer realm="crypto-api"']


@pytest.fixture
def app(writable):
    """`sql_statements` watches this module's app: the writable one, whose cache is on."""
    return writable


def test_a_raised_404_inside_a_cached_read_is_answered_and_not_stored(app, sql_statements):
    """404s are computed each time (issue 30: storing them let a client fill Redis with made-up names)."""
    client = app.test_client()
    first = client.get("/api/v1/search?name=nope")
    assert first.status_code == 404 and first.get_json() == {"detail": "No currency named or with symbol 'nope'"}
    assert sql_statements  # computed: the search ran
    sql_statements.clear()
    again = client.get("/api/v1/search?name=nope", headers={"If-None-Match": first.headers["ETag"]})
    assert sql_statements  # computed again: 404s are not stored
    assert again.status_code == 404 and again.get_data() == first.get_data()  # a 404 never becomes a 304
    assert again.headers["ETag"] == first.headers["ETag"] and again.headers["Cache-Control"] == "public, max-age=60"
