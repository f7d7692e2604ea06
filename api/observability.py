"""Operations: JSON logs with one line per request, request ids, and Prometheus metrics.

Every request, probes included, pays for these, so the per-request path does the minimum: one
hook before and one after, one timer for both the log line and the latency histogram, the
metric children of each (method, endpoint, status) looked up once and kept, and the access line
built without the logging module's caller lookup and formatted without python-json-logger's
generic field merging (the bytes are those python-json-logger writes; the date text is made
once a second).
"""

from __future__ import annotations

import json
import logging
import os
import re
import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics
from pythonjsonlogger.json import JsonFormatter

ACCESS_LOGGER = "api.access"
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "request_id")
access_log = logging.getLogger(ACCESS_LOGGER)
# A caller's request id is echoed only when it is short and plain (no log injection).
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # whole value (fullmatch: `$` lets "\n" end it)
METRICS_PREFIX = "crypto_api"
# The only `method` label values: any other method a client makes up (`XQWERTY /health`) is
# counted as "other", so no client can add series to /metrics (each costs about 2 KB).
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"


def method_label(method: str) -> str:
    """The request's method as a metric label: itself when standard, else one shared value."""
    return method if method in KNOWN_METHODS else OTHER_METHOD


class LogLineFormatter(JsonFormatter):
    """python-json-logger's JSON lines; access lines (the most frequent) take a direct path."""

    _second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """`logging.Formatter.formatTime`, with the date and time text made once per second."""
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached_second, text = self._second
        if cached_second != second:
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)  # one tuple: threads never see a second with another's text
        return self.default_msec_format % (text, record.msecs)

    def format(self, record: logging.LogRecord) -> str:
        if record.name != ACCESS_LOGGER or record.exc_info or record.stack_info or not hasattr(record, "request_id"):
            return super().format(record)
        line = {
            "asctime": self.formatTime(record, self.datefmt),
            "levelname": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
        }
        for field in ACCESS_FIELDS:
            line[field] = getattr(record, field)
        return json.dumps(line)


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr at `LOG_LEVEL`; keep handlers a host (pytest, gunicorn) installed."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(LogLineFormatter("{asctime}{levelname}{name}{message}", style="{"))
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])


class RequestMetrics:
    """The exporter's default request metrics (same names, labels and buckets), cheaper per request.

    `crypto_api_http_request_duration_seconds` (method, endpoint, status),
    `crypto_api_http_request_total` and `crypto_api_http_request_exceptions_total` (method, status).
    """

    def __init__(self, metrics: PrometheusMetrics) -> None:
        registry = metrics.registry
        metrics.info(
            f"{METRICS_PREFIX}_exporter_info",
            "Information about the Prometheus Flask exporter",
            version=metrics.version,
        )
        self.duration = Histogram(
            f"{METRICS_PREFIX}_http_request_duration_seconds",
            "Flask HTTP request duration in seconds",
            ("method", "endpoint", "status"),
            registry=registry,
        )
        self.total = Counter(
            f"{METRICS_PREFIX}_http_request_total",
            "Total number of HTTP requests",
            ("method", "status"),
            registry=registry,
        )
        self.exceptions = Counter(
            f"{METRICS_PREFIX}_http_request_exceptions_total",
            "Total number of HTTP requests which resulted in an exception",
            ("method", "status"),
            registry=registry,
        )
        self._children: dict[tuple, tuple] = {}

    def record(self, method: str, endpoint: str | None, status: int, elapsed: float | None) -> None:
        """Observe one request's latency and count it (once per request)."""
        if g.get("metrics_recorded"):
            return
        g.metrics_recorded = True
        # Bounded labels: the method (above), the endpoint (a route's name, or None when no route
        # matched) and the status (the app's own codes, under 600).
        method = method_label(method)
        key = (method, endpoint, status)
        children = self._children.get(key)
        if children is None:  # the first request of this kind; label values as the exporter wrote them
            children = (
                self.duration.labels(method=method, endpoint=endpoint, status=status),
                self.total.labels(method=method, status=status),
            )
            self._children[key] = children
        if elapsed is not None:
            children[0].observe(max(elapsed, 0))
        children[1].inc()

    def register(self, app: Flask) -> None:
        """Count requests that raised (the after-request hook does not run for them)."""

        @app.teardown_request
        def count_exception(exception: BaseException | None = None) -> None:
            if exception is None or hasattr(request, "prom_do_not_track"):
                return
            self.exceptions.labels(method=method_label(request.method), status=500).inc()
            started = g.get("started")
            self.record(request.method, request.endpoint, 500, time.perf_counter() - started if started else None)


def register_observability(app: Flask) -> None:
    """Request ids, metrics and the access log."""
    register_request_logging(app, register_metrics(app))


def register_metrics(app: Flask) -> RequestMetrics:
    """`/metrics`: per-endpoint request counts, latency histograms and exception counts.

    Under gunicorn (`PROMETHEUS_MULTIPROC_DIR`, set by gunicorn.conf.py) the workers' numbers
    are merged; otherwise each app gets a registry of its own.
    """
    from api.freshness import register_data_age_gauge

    options = {"group_by": "endpoint", "defaults_prefix": METRICS_PREFIX, "export_defaults": False}
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics = GunicornInternalPrometheusMetrics(app, **options)
    else:
        metrics = PrometheusMetrics(app, registry=CollectorRegistry(), **options)
    request_metrics = RequestMetrics(metrics)
    request_metrics.register(app)
    register_data_age_gauge(app, metrics.registry)
    return request_metrics


def register_request_logging(app: Flask, metrics: RequestMetrics) -> None:
    """Stamp each request with an id (`X-Request-ID`, taken or made); when it ends, count it in
    `metrics` and log it. One hook on each side: every request, probes included, pays for these."""

    @app.before_request
    def start_request() -> None:
        # From the WSGI environ: a missing header costs no exception (werkzeug's `headers.get` raises one).
        incoming = request.environ.get("HTTP_X_REQUEST_ID", "")
        state = g._get_current_object()  # one context lookup for both
        state.request_id = incoming if REQUEST_ID_PATTERN.fullmatch(incoming) else os.urandom(16).hex()
        state.started = time.perf_counter()

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id") or os.urandom(16).hex()  # None when a before hook failed first
        response.headers["X-Request-ID"] = request_id
        started = g.get("started")
        elapsed = time.perf_counter() - started if started else None
        current = request._get_current_object()  # one context lookup for the fields below
        if not hasattr(current, "prom_do_not_track"):  # not /metrics itself
            metrics.record(current.method, current.endpoint, response.status_code, elapsed)
        if access_log.isEnabledFor(logging.INFO):
            fields = {
                "method": current.method,
                "path": current.path,  # never the query string or headers: no tokens in logs
                "status": response.status_code,
                "duration_ms": round(elapsed * 1000, 3) if elapsed is not None else None,
                "request_id": request_id,
            }
            # makeRecord + handle: what `info()` does, minus walking the stack for the caller.
            record = access_log.makeRecord(ACCESS_LOGGER, logging.INFO, "", 0, "request", None, None, extra=fields)
            access_log.handle(record)
        return response
