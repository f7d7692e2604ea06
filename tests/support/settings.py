"""The test settings: production code never sees them (config.py holds only what the app runs with)."""

from config import Config, engine_options


class TestConfig(Config):
    """Tests bring their own database and seed it explicitly."""

    TESTING = True
    SEED_ON_STARTUP = False
    # Data tests read the database; the cache and rate-limit tests turn them on explicitly.
    CACHE_TTL = 0
    RATELIMIT_ENABLED = False
    # Limits and throttle count in each app's own memory (several apps per process, none sharing a
    # file); tests/system/test_embedded_processes.py runs real workers on a shared file.
    SHARED_STATE_FILE = None
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = engine_options("sqlite://")
    DATABASE_REPLICA_URL = None
