"""gunicorn settings, read from the environment (`gunicorn -c gunicorn.conf.py app:app`)."""

import multiprocessing
import os
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count())
# Requests are short; a worker stuck for 30 s is restarted, and shutdowns let requests finish.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Request limits (docs/limits.md): the request line at gunicorn's maximum (8,190 bytes) so `id=`
# carries the documented 1,000 symbols; one header line up to 16 KiB, as the AWS load balancer
# and the EB nginx config (.platform/nginx/conf.d) allow; at most 100 header fields.
limit_request_line = 8190
limit_request_field_size = 16384
limit_request_fields = 100
# The app logs one JSON line per request itself (api/observability.py): no second access log.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()

# Workers write their metrics into one folder so /metrics can merge them.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="crypto-api-metrics-"))


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the merged metrics."""
    from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

    GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
