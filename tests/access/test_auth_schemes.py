"""Issue 30 item 10: Authorization schemes are case-insensitive (RFC 9110 11.1), so `bearer` and
`BASIC` authenticate and never count as failed logins; issue 26 item 6: a 403 names the role needed."""

from __future__ import annotations

import base64

import pytest

from tests.support.writable import PASSWORDS, basic, token_for

ADDRESS = {"REMOTE_ADDR": "192.0.2.44"}


def basic_as(scheme: str, name: str) -> dict[str, str]:
    raw = base64.b64encode(f"{name}:{PASSWORDS[name]}".encode()).decode()
    return {"Authorization": f"{scheme} {raw}"}


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR", "Bearer"])
def test_bearer_scheme_in_any_case_authenticates_a_write(writable, scheme):
    client = writable.test_client()
    token = token_for(client, "wes")
    renamed = client.put(
        "/api/v1/currencies/aaa", json={"name": "Alpha Two"}, headers={"Authorization": f"{scheme} {token}"}
    )
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Alpha Two"


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_basic_scheme_in_any_case_authenticates(writable, scheme):
    client = writable.test_client()
    assert client.post("/api/v1/tokens", headers=basic_as(scheme, "wes")).status_code == 201
    created = client.post(
        "/api/v1/currencies", json={"name": "Gamma", "symbol": "GGG"}, headers=basic_as(scheme, "wes")
    )
    assert created.status_code == 201


def test_lower_case_bearer_never_counts_as_a_failed_login(apps):
    """Before: each `bearer` request was a 401 counted against the address; 4 locked it (429)."""
    app = apps(
        RATELIMIT_ENABLED=True, RATELIMIT_AUTH_FAILURES_PER_CLIENT="3 per minute", RATELIMIT_DEFAULT="1000/minute"
    )
    client = app.test_client()
    token = token_for(client, "wes")
    for number in range(8):
        answer = client.put(
            "/api/v1/currencies/aaa",
            json={"name": f"Alpha {number}"},
            headers={"Authorization": f"bearer {token}"},
            environ_base=ADDRESS,
        )
        assert answer.status_code == 200, number
    assert client.post("/api/v1/tokens", headers=basic("wes"), environ_base=ADDRESS).status_code == 201


def test_basic_credentials_under_another_scheme_are_not_read_as_basic(writable):
    """Flask-HTTPAuth's Basic parser ignores the scheme; `Token <base64 of name:password>` is not Basic."""
    client = writable.test_client()
    answer = client.post(
        "/api/v1/currencies", json={"name": "Gamma", "symbol": "GGG"}, headers=basic_as("Token", "wes")
    )
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("name", "method", "path", "body", "detail"),
    [
        (
            "rea",
            "post",
            "/api/v1/currencies",
            {"name": "Gamma", "symbol": "GGG"},
            "it needs writer or admin (yours is reader)",
        ),
        ("wes", "delete", "/api/v1/currencies/aaa", None, "it needs admin (yours is writer)"),
        ("wes", "delete", "/api/v1/currencies/aaa/records", None, "it needs admin (yours is writer)"),
    ],
)
def test_forbidden_names_the_role_needed(writable, name, method, path, body, detail):
    answer = getattr(writable.test_client(), method)(path, json=body, headers=basic(name))
    assert answer.status_code == 403
    assert answer.get_json() == {"detail": f"Your role may not do this: {detail}"}
