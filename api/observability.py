"""Operations: JSON logs with one line per request, request ids, and Prometheus metrics."""

from __future__ import annotations

import logging
import os
import re
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics
from pythonjsonlogger.json import JsonFormatter

access_log = logging.getLogger("api.access")
# A caller's request id is echoed only when it is short and plain (no log injection).
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr at `LOG_LEVEL`; keep handlers a host (pytest, gunicorn) installed."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter("{asctime}{levelname}{name}{message}", style="{"))
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])


def register_request_logging(app: Flask) -> None:
    """Stamp each request with an id (`X-Request-ID`, taken or made) and log it when it ends."""

    @app.before_request
    def start_timer() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if REQUEST_ID_PATTERN.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id") or uuid.uuid4().hex
        response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "path": request.path,  # never the query string or headers: no tokens in logs
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3) if started else None,
                "request_id": request_id,
            },
        )
        return response


def register_metrics(app: Flask) -> PrometheusMetrics:
    """`/metrics`: per-endpoint request counts, latency histograms and exception counts.

    Under gunicorn (`PROMETHEUS_MULTIPROC_DIR`, set by gunicorn.conf.py) the workers' numbers
    are merged; otherwise each app gets a registry of its own.
    """
    from api.freshness import register_data_age_gauge

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics = GunicornInternalPrometheusMetrics(app, group_by="endpoint", defaults_prefix="crypto_api")
    else:
        metrics = PrometheusMetrics(
            app, registry=CollectorRegistry(), group_by="endpoint", defaults_prefix="crypto_api"
        )
    register_data_age_gauge(app, metrics.registry)
    return metrics
