"""The test settings: production code never sees them (config.py holds only what the app runs with)."""

from config import Config, engine_options


class TestConfig(Config):
    """Tests bring their own database and seed it explicitly."""

    TESTING = True
    SEED_ON_STARTUP = False
    # Never reach an exchange from a test: no start-up or daily update.
    AUTO_UPDATE = False
    # Data tests read the database; the cache and rate-limit tests turn them on explicitly.
    CACHE_TTL = 0
    RATELIMIT_ENABLED = False
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    SQLALCHEMY_ENGINE_OPTIONS = engine_options("sqlite://")
    DATABASE_REPLICA_URL = None
