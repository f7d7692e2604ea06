"""Settings, read once from the environment (and a `.env` file beside this one)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import click
from dotenv import load_dotenv
from sqlalchemy.engine import URL, make_url

BASE_DIR = Path(__file__).resolve().parent
# The one `.env` of a checkout: read here (app, `flask`), by gunicorn.conf.py and so by `make run`.
# A variable already in the environment wins over the file.
ENV_FILE = BASE_DIR / ".env"
load_dotenv(ENV_FILE)

BUNDLED_CSV = BASE_DIR / "data" / "crypto-daily.zip"
DEFAULT_SQLITE_PATH = BASE_DIR / "instance" / "crypto.sqlite"
DEFAULT_VERSION_FILE = BASE_DIR / "instance" / "cache-version"
DEFAULT_SHARED_STATE_FILE = BASE_DIR / "instance" / "shared-state.sqlite"
# The fallback when neither DATABASE_URL nor RDS_* is set; production refuses it unless allowed.
FALLBACK_DATABASE_URL = f"sqlite:///{DEFAULT_SQLITE_PATH}"


class SettingsError(click.ClickException, RuntimeError):
    """A setting is missing or invalid; the message names it and the fix.

    A click exception because Flask's CLI builds the app before any command runs: click then
    prints this one line (exit 78, EX_CONFIG) instead of a traceback. Elsewhere it is a RuntimeError.
    """

    exit_code = 78


def _flag(name: str, default: bool) -> bool:
    """Read an on/off environment variable; anything but a clear "off" word means on."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a whole number: fix it in the environment or .env") from None


def _float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a number: fix it in the environment or .env") from None


def _day(name: str, default: str) -> date:
    value = os.environ.get(name, "").strip() or default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r} is not a day (YYYY-MM-DD): fix it in the environment or .env") from None


def normalise_database_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2, the driver this project installs.

    `postgres://` (Heroku, some consoles) is rejected by SQLAlchemy 2, and a bare
    `postgresql://` means psycopg 3 from SQLAlchemy 2.1 on.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def database_url(environ: Mapping[str, str] = os.environ) -> str:
    """`DATABASE_URL`, else Elastic Beanstalk's `RDS_*` variables, else SQLite in `instance/`."""
    url = environ.get("DATABASE_URL", "").strip()
    if url:
        return normalise_database_url(url)
    if environ.get("RDS_HOSTNAME"):
        return URL.create(
            "postgresql+psycopg2",
            username=environ.get("RDS_USERNAME"),
            password=environ.get("RDS_PASSWORD"),
            host=environ["RDS_HOSTNAME"],
            port=int(environ.get("RDS_PORT") or 5432),
            database=environ.get("RDS_DB_NAME"),
        ).render_as_string(hide_password=False)
    return FALLBACK_DATABASE_URL


def _under_flask_command() -> bool:
    """Flask's CLI marks its own process (not a setting: `flask` sets it before loading the app)."""
    return os.getenv("FLASK_RUN_FROM_CLI") == "true"


def web_threads() -> int:
    """Request threads per gunicorn worker (gthread): the database pool is sized to match."""
    return max(1, _int("GUNICORN_THREADS", 8))


def engine_options(url: str) -> dict:
    """Pool and connection settings for a server database, each bounding how long a request can
    wait on PostgreSQL: connect timeout, server-side `statement_timeout`, pool checkout timeout,
    TCP keepalives (a dead peer is noticed in about a minute, not the kernel's two hours),
    and pre-ping so killed connections are replaced without a restart. One pooled connection
    per request thread. A SQLite file needs none of this.

    Under the `flask` command (migrations, seeding, ingestion, the job worker) there is no
    statement timeout: an index build or a large load may rightly take minutes. Web processes also
    get a client-side deadline (statement timeout + DATABASE_CLIENT_GRACE_MS) on every round trip,
    which also ends waits on a server that is frozen rather than down (serving/db_watchdog.py).
    """
    if make_url(url).get_backend_name() != "postgresql":
        return {}
    connect_args: dict = {
        "connect_timeout": _int("DATABASE_CONNECT_TIMEOUT", 5),
        "keepalives": 1,
        "keepalives_idle": _int("DATABASE_KEEPALIVES_IDLE", 30),
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    statement_ms = _int("DATABASE_STATEMENT_TIMEOUT_MS", 5000)
    if _under_flask_command():
        statement_ms = 0
    if statement_ms > 0:
        from serving.db_watchdog import watched_connection_class

        connect_args["options"] = f"-c statement_timeout={statement_ms}"
        # A client-side deadline too, for a server that is reachable but frozen (see the module).
        grace_ms = _int("DATABASE_CLIENT_GRACE_MS", 2000)
        connect_args["connection_factory"] = watched_connection_class((statement_ms + grace_ms) / 1000)
    return {
        "pool_pre_ping": True,
        "pool_size": web_threads(),
        "max_overflow": 2,
        "pool_timeout": _int("DATABASE_POOL_TIMEOUT", 5),
        "connect_args": connect_args,
    }


def replica_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """`DATABASE_REPLICA_URL`: a PostgreSQL streaming replica for the read endpoints (unset: none)."""
    url = environ.get("DATABASE_REPLICA_URL", "").strip()
    return normalise_database_url(url) if url else None


DEVELOPMENT_SECRET_KEY = "dev-only-change-me"


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


class Config:
    """Development defaults; every value can be overridden from the environment."""

    APP_ENV = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", "").strip() or DEVELOPMENT_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = database_url()
    SQLALCHEMY_ENGINE_OPTIONS = engine_options(SQLALCHEMY_DATABASE_URI)
    # Read replica (PostgreSQL only): cached-endpoint reads go there while it has replayed
    # everything the primary had committed when the read began; else, or when it fails, to the primary.
    DATABASE_REPLICA_URL = replica_url()
    DATABASE_REPLICA_CONNECT_TIMEOUT = _int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2)
    DATABASE_REPLICA_COOLDOWN = _int("DATABASE_REPLICA_COOLDOWN", 5)
    REDIS_URL = os.environ.get("REDIS_URL", "").strip() or None
    CACHE_TTL = _int("CACHE_TTL", 1800)
    CACHE_KEY_PREFIX = os.environ.get("CACHE_KEY_PREFIX", "").strip() or "crypto-api"
    # Redis on the request path: no retries, a short timeout, then skip it for a cool-down.
    CACHE_REDIS_TIMEOUT_MS = _int("CACHE_REDIS_TIMEOUT_MS", 50)
    CACHE_REDIS_COOLDOWN = _int("CACHE_REDIS_COOLDOWN", 5)
    # Each worker's copies of Redis hits (no round trip), emptied by the bumps Redis pushes to it.
    CACHE_NEAR_TTL = _int("CACHE_NEAR_TTL", 60)
    CACHE_NEAR_MAX_MB = _int("CACHE_NEAR_MAX_MB", 64)
    # Larger responses are not cached (they would crowd Redis: a 10-year history is ~430 KB).
    CACHE_MAX_ENTRY_KB = _int("CACHE_MAX_ENTRY_KB", 128)
    # Without Redis, this host's workers share the data version through this file.
    CACHE_VERSION_FILE = os.environ.get("CACHE_VERSION_FILE", "").strip() or str(DEFAULT_VERSION_FILE)
    HTTP_CACHE_MAX_AGE = _int("HTTP_CACHE_MAX_AGE", 60)
    # Authentication and write endpoints.
    READ_AUTH = _flag("READ_AUTH", False)
    TOKEN_TTL = _int("TOKEN_TTL", 3600)
    # Seconds after a password login during which its token may renew itself (Bearer on POST /tokens).
    TOKEN_RENEWAL_MAX = _int("TOKEN_RENEWAL_MAX", 7 * 24 * 3600)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    MAX_CANDLES_PER_WRITE = _int("MAX_CANDLES_PER_WRITE", 10_000)
    # Rate limits (Flask-Limiter) and the failed-login throttle count on REDIS_URL when set, else in
    # this SQLite file, shared by this host's worker processes (api/access/shared_state.py).
    SHARED_STATE_FILE = os.environ.get("SHARED_STATE_FILE", "").strip() or str(DEFAULT_SHARED_STATE_FILE)
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
    RATELIMIT_DEFAULT = os.environ.get("RATELIMIT_DEFAULT", "").strip() or "300 per minute"
    RATELIMIT_TOKENS = os.environ.get("RATELIMIT_TOKENS", "").strip() or "10 per minute"
    # Failed logins (wrong credentials presented): free failures per (account, client), per client
    # and per account, then a lock of AUTH_BACKOFF_SECONDS doubling per failure up to the max.
    RATELIMIT_AUTH_FAILURES = os.environ.get("RATELIMIT_AUTH_FAILURES", "").strip() or "10 per 5 minutes"
    RATELIMIT_AUTH_FAILURES_PER_CLIENT = (
        os.environ.get("RATELIMIT_AUTH_FAILURES_PER_CLIENT", "").strip() or "30 per 5 minutes"
    )
    RATELIMIT_AUTH_FAILURES_PER_ACCOUNT = (
        os.environ.get("RATELIMIT_AUTH_FAILURES_PER_ACCOUNT", "").strip() or "50 per 15 minutes"
    )
    AUTH_BACKOFF_SECONDS = _int("AUTH_BACKOFF_SECONDS", 30)
    AUTH_BACKOFF_MAX_SECONDS = _int("AUTH_BACKOFF_MAX_SECONDS", 900)
    # Seconds a verified Basic password is remembered (keyed by an HMAC); 0: scrypt on every request.
    AUTH_CACHE_TTL = _int("AUTH_CACHE_TTL", 60)
    # on: /metrics needs a user (any role); off (default): open, for a scraper on a private network.
    METRICS_AUTH = _flag("METRICS_AUTH", False)
    # Exchange ingestion (ccxt) and on-demand backfill jobs (RQ on REDIS_URL).
    INGEST_EXCHANGE = os.environ.get("INGEST_EXCHANGE", "").strip() or "binance"
    INGEST_DEFAULT_SINCE = _day("INGEST_DEFAULT_SINCE", "2017-01-01")
    ON_DEMAND_INGEST = _flag("ON_DEMAND_INGEST", False)
    # A whole ingestion run stops by this many seconds (retries included): offline never costs minutes.
    INGEST_DEADLINE_SECONDS = _int("INGEST_DEADLINE_SECONDS", 900)
    # Retries of one candle page on 429, 5xx and network errors (back-off 1, 2, 4 ... s, within the deadline).
    INGEST_RETRIES = _int("INGEST_RETRIES", 5)
    # The first back-off of those retries, seconds (then doubled each time).
    INGEST_BACKOFF_SECONDS = _float("INGEST_BACKOFF_SECONDS", 1.0)
    # Unset: each exchange's own API. A base URL: every exchange call goes to <url>/<exchange id>/...
    # (a mirror or a recording proxy; the tests' fake exchanges).
    EXCHANGE_URL_OVERRIDE = os.environ.get("EXCHANGE_URL_OVERRIDE", "").strip() or None
    # on: gunicorn's master runs `flask ingest --update` at start-up when the data is behind, then
    # every AUTO_UPDATE_INTERVAL_HOURS (a subprocess; never in a web worker). off: only by hand/cron.
    AUTO_UPDATE = _flag("AUTO_UPDATE", True)
    AUTO_UPDATE_INTERVAL_HOURS = _int("AUTO_UPDATE_INTERVAL_HOURS", 24)
    # Bounds of on-demand backfill: jobs one request may queue, new jobs per client per hour.
    ON_DEMAND_MAX_SYMBOLS = _int("ON_DEMAND_MAX_SYMBOLS", 5)
    ON_DEMAND_JOBS_PER_HOUR = _int("ON_DEMAND_JOBS_PER_HOUR", 20)
    # The aggregator (CoinGecko) for circulating supply, market cap and total volume: base URL (the
    # Pro plan's https://pro-api.coingecko.com/api/v3, or a mirror), optional key (sent as
    # x-cg-pro-api-key on the Pro host, x-cg-demo-api-key elsewhere), and the seconds one update
    # run may spend on it, retries included (docs/data.md, "Aggregator").
    COINGECKO_API_URL = os.environ.get("COINGECKO_API_URL", "").strip() or "https://api.coingecko.com/api/v3"
    COINGECKO_API_KEY = os.environ.get("COINGECKO_API_KEY", "").strip() or None
    COINGECKO_DEADLINE = _int("COINGECKO_DEADLINE", 60)
    ON_DEMAND_JOBS_PER_HOUR_TOTAL = _int("ON_DEMAND_JOBS_PER_HOUR_TOTAL", 200)  # all clients together
    # Quote assets whose prices and volumes count as US dollars; ingestion refuses any other quote.
    USD_QUOTES = tuple(item.upper() for item in _list("USD_QUOTES")) or ("USD", "USDT", "USDC", "BUSD")
    # Freshness: the page shows a stale notice when the latest stored day is older than this many days.
    STALE_AFTER_DAYS = _int("STALE_AFTER_DAYS", 2)
    # `flask data report`: a close moving more than this percentage in one day is listed as suspicious.
    SUSPICIOUS_MOVE_PERCENT = _int("SUSPICIOUS_MOVE_PERCENT", 50)
    # Hardening: CORS allow-list, and how many proxies in front each append one address to
    # X-Forwarded-For (0: none, trust no header; Elastic Beanstalk's load balancer + nginx: 2).
    CORS_ORIGINS = _list("CORS_ORIGINS")
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    # Unsafe, opt-in: let APP_ENV=production run on the fallback SQLite file when neither
    # DATABASE_URL nor RDS_* is set (one host only).
    ALLOW_SQLITE_IN_PRODUCTION = _flag("ALLOW_SQLITE_IN_PRODUCTION", False)
    CSV_SOURCE = os.environ.get("CSV_SOURCE", "").strip() or str(BUNDLED_CSV)
    SEED_ON_STARTUP = _flag("SEED_ON_STARTUP", True)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    PORT = _int("PORT", 8000)


class ProductionConfig(Config):
    """`APP_ENV=production`: the factory refuses to start without a real SECRET_KEY, with the
    debugger on, or without a database server unless ALLOW_SQLITE_IN_PRODUCTION (api/access/hardening.py)."""

    APP_ENV = "production"
    DEBUG = False


def config_for_environment() -> type[Config]:
    """The settings class named by `APP_ENV` (production or development)."""
    return ProductionConfig if os.environ.get("APP_ENV", "").strip().lower() == "production" else Config
