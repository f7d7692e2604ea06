"""On-demand backfill jobs on Redis (RQ): enqueue once per symbol, report status, run them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import current_app

QUEUE_NAME = "crypto-api-backfill"


def _connection():
    import redis

    return redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)


def _queue():
    from rq import Queue

    return Queue(f"{current_app.config['CACHE_KEY_PREFIX']}-{QUEUE_NAME}", connection=_connection())


def job_id_for(symbol: str) -> str:
    return f"{current_app.config['CACHE_KEY_PREFIX']}-backfill-{symbol}"


def enqueue_backfill(symbol: str) -> str:
    """Queue one backfill of `symbol`, unless one is already queued or running: its id either way."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    job_id = job_id_for(symbol)
    connection = _connection()
    try:
        existing = Job.fetch(job_id, connection=connection)
        if existing.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED):
            return job_id
    except NoSuchJobError:
        pass
    _queue().enqueue(
        "api.jobs.backfill_symbol",
        symbol,
        job_id=job_id,
        result_ttl=3600,
        failure_ttl=3600,
        job_timeout=1800,
        description=f"backfill {symbol}",
    )
    return job_id


def job_status(job_id: str) -> dict | None:
    """{"job", "status", ...} of a backfill job, or None when unknown."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(job_id, connection=_connection())
    except NoSuchJobError:
        return None
    status = job.get_status(refresh=True)
    body = {"job": job.id, "status": str(status.value if hasattr(status, "value") else status)}
    if job.args:
        body["symbol"] = job.args[0]
    if body["status"] == "finished":
        body["result"] = job.return_value()
    if body["status"] == "failed":
        latest = job.latest_result()
        body["error"] = (latest.exc_string or "").strip().splitlines()[-1] if latest and latest.exc_string else "failed"
    return body


def backfill_symbol(symbol: str) -> dict:
    """The job: fetch SYMBOL/quote daily candles since INGEST_DEFAULT_SINCE and store them."""
    from api.ingestion import run_ingest

    config = current_app.config
    until = datetime.now(UTC).date() - timedelta(days=1)
    since: date = config["INGEST_DEFAULT_SINCE"]
    (summary,) = run_ingest(config["INGEST_EXCHANGE"], [(f"{symbol}/{config['INGEST_QUOTE']}", since)], until, False)
    if summary.error:
        raise RuntimeError(summary.describe())
    return {"symbol": summary.symbol, "stored": summary.stored, "skipped": summary.skipped}


def run_worker(burst: bool = False) -> None:
    """Work the queue in this process (the app context stays current for the jobs)."""
    from rq import SimpleWorker

    SimpleWorker([_queue()], connection=_connection()).work(burst=burst)
