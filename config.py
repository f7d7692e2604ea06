"""Settings, read once from the environment (and a `.env` file beside this one)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from dotenv import load_dotenv
from sqlalchemy.engine import URL, make_url

BASE_DIR = Path(__file__).resolve().parent
load_dotenv(BASE_DIR / ".env")

BUNDLED_CSV = BASE_DIR / "data" / "crypto-daily.zip"
DEFAULT_SQLITE_PATH = BASE_DIR / "instance" / "crypto.sqlite"
DEFAULT_VERSION_FILE = BASE_DIR / "instance" / "cache-version"


def _flag(name: str, default: bool) -> bool:
    """Read an on/off environment variable; anything but a clear "off" word means on."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() not in {"0", "false", "no", "off"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


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
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def engine_options(url: str) -> dict:
    """Pool settings for a server database: pre-ping so killed connections are replaced without
    a restart, and a bounded connect time. A SQLite file needs neither."""
    if make_url(url).get_backend_name() != "postgresql":
        return {}
    return {"pool_pre_ping": True, "connect_args": {"connect_timeout": _int("DATABASE_CONNECT_TIMEOUT", 5)}}


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
    # Without Redis, this host's workers share the data version through this file.
    CACHE_VERSION_FILE = os.environ.get("CACHE_VERSION_FILE", "").strip() or str(DEFAULT_VERSION_FILE)
    HTTP_CACHE_MAX_AGE = _int("HTTP_CACHE_MAX_AGE", 60)
    # Authentication and write endpoints.
    READ_AUTH = _flag("READ_AUTH", False)
    TOKEN_TTL = _int("TOKEN_TTL", 3600)
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    MAX_CANDLES_PER_WRITE = _int("MAX_CANDLES_PER_WRITE", 10_000)
    # Rate limits (Flask-Limiter): storage on REDIS_URL when set, in memory otherwise.
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", True)
    RATELIMIT_DEFAULT = os.environ.get("RATELIMIT_DEFAULT", "").strip() or "300 per minute"
    RATELIMIT_TOKENS = os.environ.get("RATELIMIT_TOKENS", "").strip() or "10 per minute"
    RATELIMIT_AUTH_FAILURES = os.environ.get("RATELIMIT_AUTH_FAILURES", "").strip() or "10 per 5 minutes"
    # Exchange ingestion (ccxt) and on-demand backfill jobs (RQ on REDIS_URL).
    INGEST_EXCHANGE = os.environ.get("INGEST_EXCHANGE", "").strip() or "binance"
    INGEST_QUOTE = (os.environ.get("INGEST_QUOTE", "").strip() or "USDT").upper()
    INGEST_DEFAULT_SINCE = date.fromisoformat(os.environ.get("INGEST_DEFAULT_SINCE", "").strip() or "2017-01-01")
    ON_DEMAND_INGEST = _flag("ON_DEMAND_INGEST", False)
    # Hardening: CORS allow-list, and how many proxies (load balancers) to trust for client IPs.
    CORS_ORIGINS = _list("CORS_ORIGINS")
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
    CSV_SOURCE = os.environ.get("CSV_SOURCE", "").strip() or str(BUNDLED_CSV)
    SEED_ON_STARTUP = _flag("SEED_ON_STARTUP", True)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
    PORT = _int("PORT", 8000)


class ProductionConfig(Config):
    """`APP_ENV=production`: the factory refuses to start without a real SECRET_KEY or with debug on."""

    APP_ENV = "production"
    DEBUG = False


def config_for_environment() -> type[Config]:
    """The settings class named by `APP_ENV` (production or development)."""
    return ProductionConfig if os.environ.get("APP_ENV", "").strip().lower() == "production" else Config


class TestConfig(Config):
    """Tests bring their own database and seed it explicitly."""

    TESTING = True
    SEED_ON_STARTUP = False
    # Data tests read the database; the cache and rate-limit tests turn them on explicitly.
    CACHE_TTL = 0
    RATELIMIT_ENABLED = False
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = engine_options("sqlite://")
    DATABASE_REPLICA_URL = None
