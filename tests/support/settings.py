"""The test settings: production code never sees them (config.py holds only what the app runs with)."""

from config import Config, engine_options

NO_AGGREGATOR = "http://127.0.0.1:9/api/v3"  # port 9 (discard): nothing listens on loopback


class TestConfig(Config):
    """Tests bring their own database and seed it explicitly."""

    TESTING = True
    SEED_ON_STARTUP = False
    # Never reach an exchange from a test: no start-up or daily update.
    AUTO_UPDATE = False
    # Never reach the real CoinGecko either: a closed local port (connection refused at once), so an
    # update in a test that fakes no aggregator reports it unreachable; tests that want one fake it.
    COINGECKO_API_URL = NO_AGGREGATOR
    # Data tests read the database; the cache and rate-limit tests turn them on explicitly.
    CACHE_TTL = 0
    RATELIMIT_ENABLED = False
    # Limits and throttle count in each app's own memory (several apps per process, none sharing a
    # file); tests/system/test_embedded_processes.py runs real workers on a shared file.
    SHARED_STATE_FILE = None
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = engine_options("sqlite://")
    DATABASE_REPLICA_URL = None
