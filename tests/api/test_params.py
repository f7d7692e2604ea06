"""Every invalid dashboard or search parameter answers 400 JSON naming the parameter."""

import pytest


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("", "id"),
        ("id=", "id"),
        ("id=%20,%20", "id"),
        ("id=all,btc", "id"),
        ("id=b%24c", "id"),
        ("id=" + "x" * 21, "id"),
        ("id=all&date=2021-02-30", "date"),
        ("id=all&date=2021-13-01", "date"),
        ("id=all&date=yesterday", "date"),
        ("id=all&date=", "date"),
        ("id=all&date=2021/07/05", "date"),
        ("id=all&date=20210705", "date"),
        ("id=all&date=1899-12-31", "date"),
        ("id=all&date=%202021-07-05", "date"),
        ("id=all&date=2021-07-05&date=2021-07-06", "date"),
        ("id=all&order_by=volume", "order_by"),
        ("id=all&order_by=", "order_by"),
        ("id=all&order_by=PRICE", "order_by"),
        ("id=all&order_type=up", "order_type"),
        ("id=all&order_type=", "order_type"),
        ("id=all&page=", "page"),
        ("id=all&order_type=DESC", "order_type"),
        ("id=all&page=0", "page"),
        ("id=all&page=-1", "page"),
        ("id=all&page=1.5", "page"),
        ("id=all&page=1000001", "page"),
        ("id=all&page=%C2%B2", "page"),
        ("id=all&per_page=0", "per_page"),
        ("id=all&per_page=1001", "per_page"),
        ("id=all&per_page=ten", "per_page"),
    ],
)
def test_dashboard_rejects_invalid_parameter(client, query, param):
    response = client.get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    body = response.get_json()
    assert set(body["errors"]) == {param}
    assert body["detail"].startswith("Invalid request parameters:")
    assert param in body["detail"]


def test_dashboard_reports_every_bad_parameter_at_once(client):
    body = client.get("/api/v1/dashboard?date=x&order_by=y&order_type=z&page=0&per_page=0").get_json()
    assert set(body["errors"]) == {"id", "date", "order_by", "order_type", "page", "per_page"}


def test_dashboard_unknown_symbol_is_404_naming_it(client):
    response = client.get("/api/v1/dashboard?id=btc,nope,eth,zzz")
    assert response.status_code == 404
    assert response.get_json() == {"detail": "Unknown symbol(s): NOPE, ZZZ"}


def test_dashboard_unknown_symbol_wins_over_missing_day(client):
    response = client.get("/api/v1/dashboard?id=nope&date=1990-01-01")
    assert response.status_code == 404


def test_dashboard_ignores_unknown_parameters(client):
    assert client.get("/api/v1/dashboard?id=btc&foo=bar").status_code == 200


@pytest.mark.parametrize("query", ["", "name=", "name=%20%20", "name=a&name=b", "name=" + "x" * 101])
def test_search_rejects_missing_or_blank_name(client, query):
    response = client.get(f"/api/v1/search?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert set(body["errors"]) == {"name"}
    assert "name" in body["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "id=all&date=%D9%A2%D9%A0%D9%A2%D9%A1-%D9%A0%D9%A7-%D9%A0%D9%A5",  # Arabic-Indic digits
        "id=all&date=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%91-07-05",  # fullwidth digits
    ],
)
def test_dates_take_ascii_digits_only(client, query):
    response = client.get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"date"}


@pytest.mark.parametrize("query", ["id=%C5%BFol", "id=btc,%C3%9F", "id=%C4%B1cp", "id=%EF%AC%80"])
def test_dashboard_rejects_non_ascii_lookalike_symbols(client, query):
    response = client.get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"id"}
    assert "ASCII" in response.get_json()["errors"]["id"]
