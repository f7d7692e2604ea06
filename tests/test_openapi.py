"""The OpenAPI document and Swagger UI describe every operation, parameter and response."""

import pytest


@pytest.fixture
def spec(client):
    response = client.get("/apispec_1.json")
    assert response.status_code == 200
    return response.get_json()


def test_swagger_ui_is_served(client):
    response = client.get("/apidocs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.get_data()


def test_every_route_is_documented(app, spec):
    documented = set(spec["paths"])
    routed = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(("/apidocs", "/flasgger_static", "/apispec", "/static", "/oauth2-redirect"))
        and rule.rule != "/"  # the HTML page for people, not an API operation
    }
    routed = {rule.replace("<string:symbol>", "{symbol}").replace("<string:job_id>", "{job_id}") for rule in routed}
    assert routed == documented
    assert documented == {
        "/api/v1/dashboard",
        "/api/v1/search",
        "/api/v1/currencies",
        "/api/v1/currencies/{symbol}",
        "/api/v1/currencies/{symbol}/history",
        "/api/v1/currencies/{symbol}/records",
        "/api/v1/tokens",
        "/api/v1/jobs/{job_id}",
        "/health",
        "/ready",
        "/metrics",
    }


def test_dashboard_operation(spec):
    operation = spec["paths"]["/api/v1/dashboard"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"id", "date", "order_by", "order_type", "page", "per_page", "If-None-Match"}
    assert params["If-None-Match"]["in"] == "header"
    assert params["id"]["required"] is True
    assert set(params["order_by"]["enum"]) >= {"crypto", "24h-volume", "market-cap", "change_1m", "volume_24h"}
    assert params["per_page"]["maximum"] == 1000
    assert set(operation["responses"]) == {"200", "202", "204", "304", "400", "401", "404", "429", "500", "503"}
    assert {"ETag", "Cache-Control", "X-Total-Count"} <= set(operation["responses"]["200"]["headers"])
    assert operation["responses"]["200"]["headers"]["X-Total-Count"]["type"] == "integer"
    row = spec["definitions"]["DashboardRow"]["properties"]
    assert set(row) == {
        "name",
        "symbol",
        "date",
        "price",
        "change_24h",
        "change_7d",
        "change_1m",
        "volume_24h",
        "market_cap",
    }


def test_search_and_probe_operations(spec):
    search = spec["paths"]["/api/v1/search"]["get"]
    assert [p["name"] for p in search["parameters"]] == ["name", "If-None-Match"]
    assert set(search["responses"]) == {"200", "304", "400", "401", "404", "429", "500"}
    assert set(spec["paths"]["/ready"]["get"]["responses"]) == {"200", "503"}
    assert spec["definitions"]["Error"]["required"] == ["detail"]


def test_responses_match_documented_fields(client, spec):
    row = client.get("/api/v1/dashboard?id=btc").get_json()[0]
    assert set(row) == set(spec["definitions"]["DashboardRow"]["required"])
    found = client.get("/api/v1/search?name=btc").get_json()
    assert set(found) == set(spec["definitions"]["Currency"]["required"])


def test_history_operation(spec):
    operation = spec["paths"]["/api/v1/currencies/{symbol}/history"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    assert set(params) == {"symbol", "start", "end", "interval", "format", "If-None-Match"}
    assert params["interval"]["enum"] == ["1d", "1w", "1M"] and params["symbol"]["in"] == "path"
    assert set(operation["responses"]) == {"200", "204", "304", "400", "401", "404", "429", "500"}
    assert operation["produces"] == ["application/json", "text/csv"]
    assert set(spec["definitions"]["Candle"]["required"]) == {
        "period_start",
        "days",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "market_cap",
    }


def test_catalogue_operations(spec):
    catalogue = spec["paths"]["/api/v1/currencies"]["get"]
    assert {p["name"] for p in catalogue["parameters"]} == {"q", "page", "per_page", "If-None-Match"}
    assert set(catalogue["responses"]) == {"200", "304", "400", "401", "429", "500"}
    detail = spec["paths"]["/api/v1/currencies/{symbol}"]["get"]
    assert set(detail["responses"]) == {"200", "304", "401", "404", "429", "500"}


def test_write_operations_need_credentials_and_document_errors(spec):
    assert set(spec["securityDefinitions"]) == {"basicAuth", "bearerAuth"}
    writes = [
        (path, method, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "delete")
    ]
    assert len(writes) == 7
    for path, method, operation in writes:
        assert operation["security"], (path, method)
        assert {"401", "429"} <= set(operation["responses"]), (path, method)
        if path != "/api/v1/tokens":
            assert "403" in operation["responses"], (path, method)
        if method in ("post", "put"):
            assert {"400", "413", "415"} <= set(operation["responses"]) or path == "/api/v1/tokens", (path, method)
    assert "409" in spec["paths"]["/api/v1/currencies"]["post"]["responses"]
