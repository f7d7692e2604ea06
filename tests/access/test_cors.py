"""CORS_ORIGINS: exact origins, or an anchored one-label subdomain pattern; the preflight of a
JSON-typed GET (what the Krispyto client sends) on every data surface (issue 30 item 11, issue 27)."""

from __future__ import annotations

import pytest

from api.access.hardening import cors_origin_pattern
from tests.support.apps import make_app

SURFACES = [
    "/api/v1/dashboard?id=btc&date=2021-07-06",
    "/compat/krispyto/dashboard?id=btc&date=2021-07-06&order_by=market-cap&order_type=desc",
    "/compat/krispyto/search?name=bitcoin",
    "/api/v3/coins/markets?vs_currency=usd",
    "/api/v3/simple/price?ids=bitcoin&vs_currencies=usd",
]


@pytest.fixture(scope="module")
def cors_client(seeded_database_url):
    app = make_app(seeded_database_url, CORS_ORIGINS=["https://web.example.com", "https://*.partner.com"])
    return app.test_client()


def preflight(client, path: str, origin: str):
    """What a browser sends before a GET carrying `Content-Type: application/json`."""
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "content-type",
        },
    )


@pytest.mark.parametrize("path", SURFACES)
@pytest.mark.parametrize("origin", ["https://web.example.com", "https://a.partner.com", "https://A.Partner.com"])
def test_preflight_of_a_json_get_passes_for_every_allowed_origin(cors_client, path, origin):
    answer = preflight(cors_client, path, origin)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert "content-type" in answer.headers["Access-Control-Allow-Headers"].lower()
    assert "GET" in answer.headers["Access-Control-Allow-Methods"]
    real = cors_client.get(path, headers={"Origin": origin, "Content-Type": "application/json"})
    assert real.status_code == 200
    assert real.headers["Access-Control-Allow-Origin"] == origin
    assert "X-Data-Through" in real.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize(
    "origin",
    [
        "https://xpartner.com.evil.net",  # flask-cors's unanchored `.*` allowed this
        "https://partner.com",  # the pattern needs a label in front
        "https://a.b.partner.com",  # `*` is one label
        "https://a.partner.com.evil.net",
        "http://a.partner.com",  # the scheme is part of the origin
        "https://web.example.com.evil.net",
        "https://evil-web.example.com",
        "https://web.example.co",
        "null",
    ],
)
def test_other_origins_get_no_cors_headers(cors_client, origin):
    for path in SURFACES[:3]:
        assert "Access-Control-Allow-Origin" not in preflight(cors_client, path, origin).headers
        assert "Access-Control-Allow-Origin" not in cors_client.get(path, headers={"Origin": origin}).headers


def test_a_pattern_allows_what_flask_cors_refused():
    """Before: `https://*.partner.com` as a flask-cors regex refused `https://a.partner.com`."""
    pattern = cors_origin_pattern("https://*.partner.com")
    assert pattern.match("https://a.partner.com")
    assert pattern.match("https://app-2.partner.com")
    assert not pattern.match("https://xpartner.com.evil.net")
    assert not pattern.match("https://a.partner.comx")


def test_exact_origins_are_text_not_regular_expressions():
    pattern = cors_origin_pattern("http://127.0.0.1:3000")
    assert pattern.match("http://127.0.0.1:3000")
    assert not pattern.match("http://127a0a0a1:3000")  # "." is a dot, not any character
    assert not pattern.match("http://127.0.0.1:30000")


@pytest.mark.parametrize(
    "entry",
    [
        "*",
        "https://*",
        "https://partner*.com",
        "https://a.*.com",
        "https://web.example.com/",
        "web.example.com",
        "https://web.example.com/path",
        "ftp://web.example.com",
        "https://*.partner.com/x",
        "https://(a|b).com",
    ],
)
def test_a_malformed_entry_stops_the_app_from_building(seeded_database_url, entry):
    with pytest.raises(RuntimeError, match="CORS_ORIGINS entry"):
        make_app(seeded_database_url, CORS_ORIGINS=[entry])


def test_no_allow_list_means_no_cors_headers_on_the_compat_surfaces(client):
    for path in SURFACES:
        assert "Access-Control-Allow-Origin" not in preflight(client, path, "https://web.example.com").headers


def test_a_preflight_needs_no_credentials_when_reads_do(seeded_database_url):
    """Browsers never send credentials on a preflight: with READ_AUTH=on it still passes, the GET then needs them."""
    client = make_app(seeded_database_url, READ_AUTH=True, CORS_ORIGINS=["https://web.example.com"]).test_client()
    path = "/compat/krispyto/search?name=btc"
    answer = preflight(client, path, "https://web.example.com")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "https://web.example.com"
    refused = client.get(path, headers={"Origin": "https://web.example.com"})
    assert refused.status_code == 401 and refused.headers["Access-Control-Allow-Origin"] == "https://web.example.com"
