"""On-demand backfill jobs on Redis (RQ): enqueue once per symbol, report status, run them.

Bounded: one request queues at most ON_DEMAND_MAX_SYMBOLS jobs, each client creates at most
ON_DEMAND_JOBS_PER_HOUR new ones (a fixed hourly window counted in Redis), and Redis calls time
out after a second. Redis failing is `JobsUnavailable` (the caller answers 503), never a 500.

Imported by the dashboard (enqueue), `GET /api/v1/jobs/<id>` (status) and `flask worker` (run);
the job itself calls `api.ingest_service.run_planned_update`, which never imports this module. RQ finds
the job function by its dotted path (`JOB_FUNCTION`), so renaming it means changing that string.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis.exceptions import RedisError

from api.ingest_service import run_planned_update

QUEUE_NAME = "crypto-api-backfill"
# RQ accepts letters, digits, "_" and "-" in job ids; anything else is escaped as _XX (hex).
_UNSAFE_FOR_RQ = re.compile(r"[^A-Za-z0-9-]")
VALID_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,200}")
REDIS_TIMEOUT_S = 1.0
JOB_FUNCTION = "api.backfill_jobs.backfill_symbol"


class JobsUnavailable(Exception):
    """Redis (the job queue) did not answer: the caller answers 503."""


class JobQuotaExceeded(Exception):
    """This client created ON_DEMAND_JOBS_PER_HOUR jobs this hour; `retry_after` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def _connection():
    import redis

    return redis.Redis.from_url(
        current_app.config["REDIS_URL"], socket_timeout=REDIS_TIMEOUT_S, socket_connect_timeout=REDIS_TIMEOUT_S
    )


def _queue():
    from rq import Queue

    return Queue(f"{current_app.config['CACHE_KEY_PREFIX']}-{QUEUE_NAME}", connection=_connection())


def _rq_safe(text: str) -> str:
    """An injective spelling of `text` that RQ accepts as part of a job id ("." and "_" escaped)."""
    return _UNSAFE_FOR_RQ.sub(lambda match: f"_{ord(match.group()):02x}", text)


def job_id_for(symbol: str) -> str:
    return f"{_rq_safe(current_app.config['CACHE_KEY_PREFIX'])}-backfill-{_rq_safe(symbol)}"


def _active(job_id: str, connection) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        existing = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    return existing.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED)


def _take_quota(connection, client: str) -> None:
    """Count one new job for `client` in this hour's window; JobQuotaExceeded past the limit."""
    limit = current_app.config["ON_DEMAND_JOBS_PER_HOUR"]
    window = int(time.time()) // 3600
    key = f"{current_app.config['CACHE_KEY_PREFIX']}:backfill-quota:{client}:{window}"
    pipeline = connection.pipeline()
    pipeline.incr(key)
    pipeline.expire(key, 3600)
    count, _ = pipeline.execute()
    if count > limit:
        raise JobQuotaExceeded(retry_after=(window + 1) * 3600 - int(time.time()))


def enqueue_backfill(symbol: str, client: str) -> str:
    """Queue one backfill of `symbol`, unless one is already queued or running: its id either way.

    A new job counts against `client`'s hourly quota (JobQuotaExceeded); Redis failing is
    JobsUnavailable.
    """
    job_id = job_id_for(symbol)
    connection = _connection()
    try:
        if _active(job_id, connection):
            return job_id
        _take_quota(connection, client)
        _queue().enqueue(
            JOB_FUNCTION,
            symbol,
            job_id=job_id,
            result_ttl=3600,
            failure_ttl=3600,
            job_timeout=1800,
            description=f"backfill {symbol}",
        )
    except RedisError as error:
        raise JobsUnavailable(str(error)) from error
    finally:
        connection.close()
    return job_id


def job_status(job_id: str) -> dict | None:
    """{"job", "status", ...} of a backfill job, or None when unknown (or not a job id at all)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    if not VALID_JOB_ID.fullmatch(job_id):
        return None
    connection = _connection()
    try:
        job = Job.fetch(job_id, connection=connection)
        status = job.get_status(refresh=True)
        body = {"job": job.id, "status": str(status.value if hasattr(status, "value") else status)}
        if job.args:
            body["symbol"] = job.args[0]
        if body["status"] == "finished":
            body["result"] = job.return_value()
        if body["status"] == "failed":
            latest = job.latest_result()
            exc_string = latest.exc_string if latest else None
            body["error"] = (exc_string or "").strip().splitlines()[-1] if exc_string else "failed"
    except NoSuchJobError:
        return None
    except RedisError as error:
        raise JobsUnavailable(str(error)) from error
    finally:
        connection.close()
    return body


def backfill_symbol(symbol: str) -> dict:
    """The job: bring SYMBOL up to yesterday by the same plan as `flask ingest --update` (its markets
    in the source plan, else the default exchange order), from INGEST_DEFAULT_SINCE when new."""
    until = datetime.now(UTC).date() - timedelta(days=1)
    report = run_planned_update(until, [symbol.upper()])
    if report.nothing_reachable:
        raise RuntimeError(f"no exchange reachable ({', '.join(report.unreachable)})")
    outcome = next((o for o in report.outcomes if o.symbol == symbol.upper()), None)
    if outcome is None:  # already through yesterday
        return {"symbol": symbol.upper(), "stored": 0, "skipped": 0, "status": "active"}
    if not outcome.stored and outcome.errors:
        raise RuntimeError(outcome.describe())
    skipped = sum(source.skipped for source in outcome.sources)
    return {"symbol": outcome.symbol, "stored": outcome.stored, "skipped": skipped, "status": outcome.status}


def run_worker(burst: bool = False) -> None:
    """Work the queue in this process (the app context stays current for the jobs)."""
    from rq import SimpleWorker

    SimpleWorker([_queue()], connection=_connection()).work(burst=burst)
