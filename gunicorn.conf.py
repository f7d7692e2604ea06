"""gunicorn settings, read from the environment and `.env` (`gunicorn -c gunicorn.conf.py app:app`).

Worker model (measured in docs/operations.md): gthread. A request stuck on the database holds
one thread, not a whole worker, and the worker's main thread keeps heart-beating, so a stalled
database costs requests, never the worker; `/health` and cached reads keep answering on the
other threads, and gthread only hands a connection to a thread once its request has started
arriving. WEB_CONCURRENCY processes (default: one per CPU), with or without REDIS_URL: without it
the rate limits and the login throttle count in a SQLite file the processes share
(SHARED_STATE_FILE) and the in-process cache shares its data version through a file, so all stay
exact across processes (docs/performance.md: the options measured).
"""

import multiprocessing
import os
import tempfile
from pathlib import Path

from dotenv import load_dotenv

# The same `.env` as the app (config.py reads it too): PORT, WEB_CONCURRENCY, GUNICORN_* and
# REDIS_URL set there count here as well. A variable already in the environment wins.
load_dotenv(Path(__file__).resolve().parent / ".env")

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# gthread that buffers request headers and bodies in its main thread: slow clients cannot hold threads.
worker_class = "serving.gthread_worker.HeaderBufferingWorker"
threads = max(1, int(os.environ.get("GUNICORN_THREADS") or 8))
workers = max(1, int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count()))
# A worker whose main thread stops heart-beating for this long is restarted. It must exceed the
# database bounds (connect 5 s, statement 5 s, pool checkout 5 s), so that a slow database
# fails requests with a JSON 500 and never gets a worker killed; the main thread of a gthread
# worker does no request work, so in practice only a wedged process trips it.
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


def when_ready(server):
    """Keep the data fresh by itself (AUTO_UPDATE, on by default): the master runs `flask ingest
    --update` in a subprocess now, then daily; never in a worker, never blocking boot."""
    from config import config_for_environment
    from serving.auto_update import start_updater

    settings = config_for_environment()
    if not settings.AUTO_UPDATE:
        server.log.info("auto-update: off (AUTO_UPDATE)")
        return
    interval = settings.AUTO_UPDATE_INTERVAL_HOURS * 3600
    start_updater(interval, settings.INGEST_DEADLINE_SECONDS + 120, server.log.info)


def post_worker_init(worker):
    """Start the start-up step (seed empty tables, check Redis) in the background: it retries
    until the database answers and never stops the worker from serving."""
    from api.startup import start_in_background

    start_in_background(worker.wsgi)


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the merged metrics."""
    from prometheus_flask_exporter.multiprocess import GunicornInternalPrometheusMetrics

    GunicornInternalPrometheusMetrics.mark_process_dead_on_child_exit(worker.pid)
