"""The OpenAPI document and Swagger UI describe every operation, parameter and response."""

import re
from datetime import date

import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

from api.errors import InvalidParams
from api.v1.bodies import candles_body, currency_body
from api.v1.params import (
    DEFAULT_PER_PAGE,
    MAX_PAGE,
    MAX_PER_PAGE,
    ORDER_BY_ALIASES,
    ORDER_TYPES,
    SYMBOL_PATTERN,
    parse_date,
    parse_symbols,
)


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def resolve(spec: dict, node: dict) -> dict:
    """Follow a local `$ref` (parameters, responses, schemas, headers)."""
    while "$ref" in node:
        for part in node["$ref"].removeprefix("#/").split("/"):
            spec = spec[part]
        node = spec
    return node


def ecma(pattern: str) -> re.Pattern:
    """A JSON Schema pattern in Python: ECMA-262's `$` ends the string (Python's `$` also before a final \\n)."""
    return re.compile(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern)


def parameters(spec: dict, operation: dict) -> dict:
    return {p["name"]: p for p in (resolve(spec, p) for p in operation.get("parameters", []))}


def schema_of(spec: dict, parameter: dict) -> dict:
    return resolve(spec, parameter["schema"])


def test_served_document_is_valid_openapi_3(client):
    """openapi-spec-validator (a third-party validator) finds no error, at both routes."""
    documents = [client.get(route).get_json() for route in ("/openapi.json", "/apispec_1.json")]
    assert documents[0] == documents[1]
    assert documents[0]["openapi"] == "3.0.3" and "swagger" not in documents[0]
    errors = [error.message for error in OpenAPIV30SpecValidator(documents[0]).iter_errors()]
    assert errors == []


def test_swagger_ui_is_served(client):
    response = client.get("/apidocs/")
    assert response.status_code == 200
    assert b"swagger-ui" in response.get_data()


def test_every_route_is_documented(app, spec):
    documented = set(spec["paths"])
    routed = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(
            ("/apidocs", "/flasgger_static", "/apispec", "/openapi.json", "/static", "/oauth2-redirect")
        )
        and rule.rule != "/"  # the HTML page for people, not an API operation
    }
    routed = {
        rule.replace("<string:symbol>", "{symbol}")
        .replace("<string:job_id>", "{job_id}")
        .replace("<string:coin>", "{coin}")
        for rule in routed
    }
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
        "/compat/krispyto/dashboard",
        "/compat/krispyto/search",
        "/api/v3/ping",
        "/api/v3/simple/price",
        "/api/v3/simple/supported_vs_currencies",
        "/api/v3/coins/list",
        "/api/v3/coins/markets",
        "/api/v3/coins/{coin}",
        "/api/v3/coins/{coin}/market_chart",
        "/api/v3/coins/{coin}/market_chart/range",
        "/api/v3/coins/{coin}/ohlc",
        "/api/v3/coins/{coin}/history",
        "/api/v3/search",
    }


def test_dashboard_operation(spec):
    operation = spec["paths"]["/api/v1/dashboard"]["get"]
    params = parameters(spec, operation)
    assert set(params) == {"id", "date", "order_by", "order_type", "page", "per_page", "If-None-Match"}
    assert params["If-None-Match"]["in"] == "header"
    assert params["id"]["required"] is True
    # The document states the limits and spellings that api/v1/params.py enforces, all of them.
    assert sorted(params["order_by"]["schema"]["enum"]) == sorted(ORDER_BY_ALIASES)
    assert len(ORDER_BY_ALIASES) == 14
    assert sorted(params["order_type"]["schema"]["enum"]) == sorted(ORDER_TYPES)
    per_page, page = schema_of(spec, params["per_page"]), schema_of(spec, params["page"])
    assert (per_page["minimum"], per_page["maximum"], per_page["default"]) == (1, MAX_PER_PAGE, DEFAULT_PER_PAGE)
    assert (page["minimum"], page["maximum"], page["default"]) == (1, MAX_PAGE, 1)
    assert set(operation["responses"]) == {"200", "202", "204", "304", "400", "401", "404", "429", "500", "503"}
    headers = operation["responses"]["200"]["headers"]
    assert {"ETag", "Cache-Control", "X-Total-Count", "X-Data-Through", "X-RateLimit-Remaining"} <= set(headers)
    assert resolve(spec, headers["X-Total-Count"])["schema"]["type"] == "integer"
    row = spec["components"]["schemas"]["DashboardRow"]["properties"]
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
    assert list(parameters(spec, search)) == ["name", "If-None-Match"]
    assert set(search["responses"]) == {"200", "304", "400", "401", "404", "429", "500"}
    assert set(spec["paths"]["/ready"]["get"]["responses"]) == {"200", "503"}
    assert spec["components"]["schemas"]["Error"]["required"] == ["detail"]


def test_responses_match_documented_fields(client, spec):
    row = client.get("/api/v1/dashboard?id=btc").get_json()[0]
    assert set(row) == set(spec["components"]["schemas"]["DashboardRow"]["required"])
    found = client.get("/api/v1/search?name=btc").get_json()
    assert set(found) == set(spec["components"]["schemas"]["Currency"]["required"])


def test_history_operation(spec):
    operation = spec["paths"]["/api/v1/currencies/{symbol}/history"]["get"]
    params = parameters(spec, operation)
    assert set(params) == {"symbol", "start", "end", "interval", "format", "If-None-Match"}
    assert params["interval"]["schema"]["enum"] == ["1d", "1w", "1M"] and params["symbol"]["in"] == "path"
    assert set(operation["responses"]) == {"200", "204", "304", "400", "401", "404", "429", "500"}
    assert list(operation["responses"]["200"]["content"]) == ["application/json", "text/csv"]
    assert set(spec["components"]["schemas"]["Candle"]["required"]) == {
        "period_start",
        "days",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "market_cap",
        "source",
        "volume_estimated",
        "market_cap_estimated",
        "volume_source",
        "marketcap_source",
        "volume_scope",
    }


def test_lineage_supply_and_freshness_fields_are_documented_as_served(client, spec):
    """Every field the code sends is documented; the always-sent ones are required, the nullable ones nullable."""
    schemas = spec["components"]["schemas"]
    summary = client.get("/api/v1/currencies/btc").get_json()
    assert set(summary) == set(schemas["CurrencySummary"]["required"]) == set(schemas["CurrencySummary"]["properties"])
    summary_fields = schemas["CurrencySummary"]["properties"]
    assert {"latest_market_cap_estimated", "circulating_supply", "supply_as_of"} <= {
        name for name, field in summary_fields.items() if field.get("nullable")
    }
    candle = client.get("/api/v1/currencies/btc/history?start=2021-07-06&end=2021-07-06").get_json()[0]
    assert set(candle) == set(schemas["Candle"]["required"]) == set(schemas["Candle"]["properties"])
    assert (type(candle["volume_estimated"]), type(candle["market_cap_estimated"])) == (bool, bool)
    for name in ("NewCurrency", "CurrencyRename"):
        fields = {key: resolve(spec, value) for key, value in schemas[name]["properties"].items()}
        assert fields["circulating_supply"]["maximum"] == 1e18 and fields["circulating_supply"]["exclusiveMinimum"]
        assert ecma(fields["supply_as_of"]["pattern"]).match("2021-07-06")
        assert "circulating_supply" not in schemas[name]["required"]
    ready = client.get("/ready")
    body = ready.get_json()
    assert ready.status_code == 200 and set(body) <= set(schemas["Ready"]["properties"])
    assert {"data_through", "data_age_days"} <= set(body) - set(schemas["Ready"]["required"])
    assert schemas["Ready"]["properties"]["status"]["enum"] == ["ready", "starting", "unavailable"]
    for path in ("/api/v1/dashboard", "/api/v1/jobs/{job_id}"):
        unavailable = spec["paths"][path]["get"]["responses"]["503"]
        assert "Retry-After" in unavailable["headers"] and "application/json" in unavailable["content"]


def test_catalogue_operations(spec):
    catalogue = spec["paths"]["/api/v1/currencies"]["get"]
    params = parameters(spec, catalogue)
    assert set(params) == {"q", "page", "per_page", "If-None-Match"}
    assert schema_of(spec, params["per_page"])["maximum"] == MAX_PER_PAGE
    assert schema_of(spec, params["page"])["maximum"] == MAX_PAGE
    assert set(catalogue["responses"]) == {"200", "304", "400", "401", "429", "500"}
    detail = spec["paths"]["/api/v1/currencies/{symbol}"]["get"]
    assert set(detail["responses"]) == {"200", "304", "401", "404", "429", "500"}


def test_write_operations_need_credentials_and_document_errors(spec):
    schemes = spec["components"]["securitySchemes"]
    assert schemes == {
        "basicAuth": {**schemes["basicAuth"], "type": "http", "scheme": "basic"},
        "bearerAuth": {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"},
    }
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
        if method in ("post", "put") and path != "/api/v1/tokens":
            assert {"400", "413", "415"} <= set(operation["responses"]), (path, method)
            assert list(operation["requestBody"]["content"]) == ["application/json"], (path, method)
    assert "409" in spec["paths"]["/api/v1/currencies"]["post"]["responses"]


def candidate_days() -> list[str]:
    """Every month 0-13 and day 0-32, padded or not, in years around the edges (1900, leap rules)."""
    found = []
    for year in (1899, 1900, 1901, 1904, 2000, 2020, 2021, 2100, 2400, 9999):
        for month in range(14):
            for day in range(33):
                for m in {str(month), f"{month:02d}"}:
                    for d in {str(day), f"{day:02d}"}:
                        found.append(f"{year}-{m}-{d}")
    arabic_indic = "\u0662\u0660\u0662\u0661"  # 2021 in Arabic-Indic digits: Python's \\d matches them
    return [*found, "2021-07-06\n", "21-07-06", "2021-07-06T00:00", f"{arabic_indic}-07-06", "2021-007-06", ""]


def test_documented_day_pattern_is_exactly_what_the_code_accepts(spec):
    pattern = ecma(spec["components"]["schemas"]["QueryDay"]["pattern"])
    candle_day = ecma(spec["components"]["schemas"]["NewCandle"]["properties"]["date"]["pattern"])
    for raw in candidate_days():
        errors: dict[str, str] = {}
        accepted = parse_date(raw, errors) is not None
        assert bool(pattern.search(raw)) == accepted, raw
        try:
            # `today` far ahead: the pattern states the day's form; "not after today" is a 400 it cannot state.
            candles_body([{"date": raw, "open": 1, "high": 1, "low": 1, "close": 1}], 10, today=date.max)
            strict = True
        except InvalidParams:
            strict = False
        assert bool(candle_day.search(raw)) == strict, raw


def test_documented_symbol_and_name_patterns_match_the_code(spec):
    dashboard = spec["paths"]["/api/v1/dashboard"]["get"]
    id_pattern = ecma(parameters(spec, dashboard)["id"]["schema"]["pattern"])
    name = ecma(spec["components"]["schemas"]["CurrencyName"]["pattern"])
    symbol = ecma(spec["components"]["schemas"]["Symbol"]["pattern"])
    ids = ["btc", "BTC,eth", " btc , eth ", "btc,,eth,", "all", "ALL", "all,all", "all,btc", "btc,All", "alla,al"]
    ids += ["", ",", " ", "b" * 20, "b" * 21, "-btc", "bt c", "btc;eth", "b.t_c-1", "é", "btc\x00"]
    for raw in ids:
        errors: dict[str, str] = {}
        parse_symbols([raw], errors)
        assert bool(id_pattern.search(raw)) == (not errors), raw
        assert bool(symbol.search(raw)) == bool(SYMBOL_PATTERN.match(raw.upper()) and raw == raw.strip()), raw
    for raw in ["Bitcoin", " Bitcoin ", "x" * 100, " " + "x" * 100 + " ", "x" * 101, "", "   ", "a\tb", "a\x7f", "é ü"]:
        try:
            currency_body({"name": raw, "symbol": "BTC"})
            accepted = True
        except InvalidParams:
            accepted = False
        assert bool(name.search(raw)) == accepted, raw


def test_examples_are_the_bundled_bitcoin_day(spec, truth):
    """Swagger UI shows real values (BTC on 2021-07-06 from the CSVs), not zeros dated today."""
    btc = truth.coins["BTC"].days[date(2021, 7, 6)]
    row = spec["paths"]["/api/v1/dashboard"]["get"]["responses"]["200"]["content"]["application/json"]["example"][0]
    assert (row["date"], row["price"], row["market_cap"]) == ("2021-07-06", btc["Close"], btc["Marketcap"])
    assert row["change_24h"] == pytest.approx(truth.change("BTC", date(2021, 7, 6), 1))
    history = spec["paths"]["/api/v1/currencies/{symbol}/history"]["get"]["responses"]["200"]["content"]
    candle = history["application/json"]["example"][-1]
    assert (candle["open"], candle["high"], candle["low"], candle["close"]) == tuple(
        btc[k] for k in ("Open", "High", "Low", "Close")
    )
    assert history["text/csv"]["example"].splitlines()[-1].startswith("2021-07-06,1,")


def test_bodiless_answers_declare_no_content_and_nullable_fields(spec):
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status in ("204", "304"):
                if status in operation["responses"]:
                    assert "content" not in resolve(spec, operation["responses"][status]), (path, method, status)
    row = spec["components"]["schemas"]["DashboardRow"]["properties"]
    assert {name for name, field in row.items() if field.get("nullable")} == {
        "change_24h",
        "change_7d",
        "change_1m",
        "volume_24h",
        "market_cap",
    }
