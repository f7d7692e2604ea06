"""On-demand backfill jobs on Redis (RQ): enqueue once per symbol, report status, run them.

Bounded: one request queues at most ON_DEMAND_MAX_SYMBOLS jobs; each client creates at most
ON_DEMAND_JOBS_PER_HOUR new ones and all clients together ON_DEMAND_JOBS_PER_HOUR_TOTAL (fixed
hourly windows counted in Redis). A request's whole quota is taken at once, atomically, before
anything is queued: a refused request queues nothing. Redis calls time out after a second; Redis
failing is `JobsUnavailable` (the caller answers 503), never a 500.

Job ids are random (128 bits: knowing a symbol does not tell its job), so a job's status and error
line are readable only by whoever was given the id; a symbol's running job is found through a
pointer key. The client address is in no key: quota keys carry HMAC-SHA256(SECRET_KEY, address).

Imported by the dashboard (enqueue), `GET /api/v1/jobs/<id>` (status) and `flask worker` (run);
the job itself calls `api.ingest_service.run_planned_update`, which never imports this module. RQ finds
the job function by its dotted path (`JOB_FUNCTION`), so renaming it means changing that string.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
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


def new_job_id() -> str:
    """A job id nobody can guess: the prefix, then 128 random bits (RQ-safe characters)."""
    return f"{_rq_safe(current_app.config['CACHE_KEY_PREFIX'])}-backfill-{secrets.token_hex(16)}"


def _key(kind: str, part: str) -> str:
    return f"{current_app.config['CACHE_KEY_PREFIX']}:backfill-{kind}:{part}"


def _client_digest(client: str) -> str:
    """The client address as a keyed hash: Redis never holds it in clear."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, client.encode(), hashlib.sha256).hexdigest()[:32]


def _active(job_id: str, connection) -> bool:
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        existing = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        return False
    return existing.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED)


# Both windows checked, then both counted, in one atomic step: 0 taken, 1 client full, 2 all full.
TAKE_QUOTA = """
local n = tonumber(ARGV[1])
if tonumber(redis.call('GET', KEYS[1]) or '0') + n > tonumber(ARGV[2]) then return 1 end
if tonumber(redis.call('GET', KEYS[2]) or '0') + n > tonumber(ARGV[3]) then return 2 end
redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('INCRBY', KEYS[2], n)
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 0
"""


def _take_quota(connection, client: str, count: int) -> None:
    """Count `count` new jobs for `client` and for all this hour; past a limit JobQuotaExceeded, none counted."""
    config = current_app.config
    window = int(time.time()) // 3600
    keys = [_key("quota", f"{_client_digest(client)}:{window}"), _key("quota-total", str(window))]
    limits = [count, config["ON_DEMAND_JOBS_PER_HOUR"], config["ON_DEMAND_JOBS_PER_HOUR_TOTAL"], 3600]
    if connection.eval(TAKE_QUOTA, 2, *keys, *limits) != 0:
        raise JobQuotaExceeded(retry_after=(window + 1) * 3600 - int(time.time()))


def _running_job(connection, symbol: str) -> str | None:
    """The id of `symbol`'s queued or running job, if any."""
    pointer = connection.get(_key("symbol", _rq_safe(symbol)))
    job_id = pointer.decode() if pointer else None
    return job_id if job_id and _active(job_id, connection) else None


def enqueue_backfills(symbols: list[str], client: str) -> dict[str, str]:
    """Queue one backfill per symbol that has none queued or running: {symbol: job id} for all.

    The new jobs' quota is taken for the whole request first (JobQuotaExceeded: nothing queued);
    Redis failing is JobsUnavailable.
    """
    connection = _connection()
    try:
        jobs = {symbol: _running_job(connection, symbol) for symbol in symbols}
        missing = [symbol for symbol, job_id in jobs.items() if job_id is None]
        if missing:
            _take_quota(connection, client, len(missing))
        for symbol in missing:
            job_id = new_job_id()
            _queue().enqueue(
                JOB_FUNCTION,
                symbol,
                job_id=job_id,
                result_ttl=3600,
                failure_ttl=3600,
                job_timeout=1800,
                description=f"backfill {symbol}",
            )
            # After the job exists: a reader of the pointer always finds it. Kept as long as the job may run.
            connection.set(_key("symbol", _rq_safe(symbol)), job_id, ex=1800 + 3600)
            jobs[symbol] = job_id
    except RedisError as error:
        raise JobsUnavailable(str(error)) from error
    finally:
        connection.close()
    return jobs


def enqueue_backfill(symbol: str, client: str) -> str:
    """One symbol's `enqueue_backfills`: its job id."""
    return enqueue_backfills([symbol], client)[symbol]


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
