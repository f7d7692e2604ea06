"""Request ids, one JSON log line per request, and Prometheus metrics."""

from __future__ import annotations

import json
import logging
import re

import pytest

from api.observability import LogLineFormatter, configure_logging
from tests.support.apps import make_app


def access_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "api.access"]


def test_request_id_is_echoed_or_made(client):
    assert client.get("/health", headers={"X-Request-ID": "req-42.a:b"}).headers["X-Request-ID"] == "req-42.a:b"
    made = client.get("/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    for unsafe in ("a b", "x" * 129, "evil\u2028line", "<script>"):
        echoed = client.get("/health", headers={"X-Request-ID": unsafe}).headers["X-Request-ID"]
        assert echoed != unsafe and re.fullmatch(r"[0-9a-f]{32}", echoed)
    # Past the client's header checks (another server's environ): a line break never reaches a log.
    echoed = client.get("/health", environ_base={"HTTP_X_REQUEST_ID": "req-42\n"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_the_app_builds_in_the_reloader_child(seeded_database_url, monkeypatch):
    """`flask run --debug` builds the app again in a child where the exporter adds no /metrics."""
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    client = make_app(seeded_database_url).test_client()
    assert client.get("/health").status_code == 200
    assert client.get("/metrics").status_code == 404


def test_one_log_line_per_request_with_the_fields(client, caplog):
    caplog.set_level(logging.INFO, logger="api.access")
    client.get("/api/v1/dashboard?id=btc&date=2021-07-05", headers={"X-Request-ID": "trace-1"})
    client.get("/api/v1/nope?token=secret-value")
    first, second = access_records(caplog)
    assert (first.method, first.path, first.status, first.request_id) == ("GET", "/api/v1/dashboard", 200, "trace-1")
    assert isinstance(first.duration_ms, float) and first.duration_ms >= 0
    assert (second.path, second.status) == ("/api/v1/nope", 404)
    assert "secret-value" not in " ".join(str(vars(r)) for r in access_records(caplog))


def test_log_lines_are_json(app):
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        configure_logging(app)
        formatted = root.handlers[0].format(
            logging.LogRecord("api.access", logging.INFO, __file__, 1, "request", None, None)
        )
    finally:
        root.handlers = saved
    assert json.loads(formatted)["message"] == "request"


@pytest.mark.parametrize("created", [0.0, 1700000000.0005, 1700000000.999, 1764553927.123456, 1764553928.5])
def test_access_line_time_is_what_logging_writes(created):
    """The formatter makes each second's text once; every line still reads as logging's own."""
    formatter = LogLineFormatter("{asctime}{levelname}{name}{message}", style="{")
    for when in (created, created + 0.25, created + 1.5, created):  # same second, the next, back
        record = logging.LogRecord("api.access", logging.INFO, __file__, 1, "request", None, None)
        record.created, record.msecs = when, int((when - int(when)) * 1000) + 0.0
        assert formatter.formatTime(record) == logging.Formatter().formatTime(record)
        assert formatter.formatTime(record, "%H:%M") == logging.Formatter().formatTime(record, "%H:%M")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text output (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{"):
            sample_labels = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.index("}")]))
            if all(sample_labels.get(k) == v for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_latency_and_errors(seeded_database_url, monkeypatch):
    app = make_app(seeded_database_url, TESTING=False)
    client = app.test_client()
    for _ in range(3):
        client.get("/api/v1/dashboard?id=btc")
    client.get("/api/v1/dashboard")  # 400

    import api.v1.search as search

    monkeypatch.setattr(search, "find_currency", lambda *a: 1 / 0)
    assert client.get("/api/v1/search?name=x").status_code == 500
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    text = response.get_data(as_text=True)
    per_endpoint = "crypto_api_http_request_duration_seconds_count"  # requests by endpoint and status
    assert metric(text, per_endpoint, endpoint="v1.dashboard", status="200", method="GET") == 3
    assert metric(text, per_endpoint, endpoint="v1.dashboard", status="400", method="GET") == 1
    assert metric(text, per_endpoint, endpoint="v1.search", status="500", method="GET") == 1  # errors
    buckets = "crypto_api_http_request_duration_seconds_bucket"
    assert metric(text, buckets, endpoint="v1.dashboard", status="200", le="+Inf") == 3
    assert metric(text, "crypto_api_http_request_total", status="200") == 3
    assert metric(text, "crypto_api_http_request_exceptions_total", status="500") == 1


@pytest.mark.parametrize("path", ["/metrics", "/health"])
def test_operations_endpoints_are_not_cached(client, path):
    assert "ETag" not in client.get(path).headers
