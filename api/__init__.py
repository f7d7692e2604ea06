"""Application factory: reads like a table of contents of the app.

Building the app does no I/O: seeding and start-up checks run in `api.startup`, started by
gunicorn's `post_worker_init` hook (gunicorn.conf.py), and cannot stop the server from booting.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.access.auth import register_auth
from api.access.hardening import check_production_settings, register_security
from api.access.rate_limits import register_rate_limits
from api.cache.response import init_cache
from api.extensions import db, migrate, swagger
from api.json_provider import FastJSONProvider
from api.observability import configure_logging, register_observability
from api.replica import init_read_router
from config import config_for_environment

log = logging.getLogger(__name__)


def create_app(config_class: type | None = None, **overrides: object) -> Flask:
    """Build the app from `config_class` (default: by APP_ENV); `overrides` replace single settings."""
    app = Flask(__name__)
    app.config.from_object(config_class or config_for_environment())
    app.config.update(overrides)
    check_production_settings(app)
    app.json = FastJSONProvider(app)  # orjson, same bytes as the standard library
    configure_logging(app)
    ensure_sqlite_folder(app)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_observability(app)
    register_security(app)
    register_rate_limits(app)
    register_auth(app)  # after the limiter: a flood of anonymous requests meets the limit first
    register_commands(app)
    return app


def ensure_sqlite_folder(app: Flask) -> None:
    """The default SQLite file lives in `instance/`, which a fresh clone does not have."""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def register_extensions(app: Flask) -> None:
    """Bind the extensions instantiated in `api.extensions`."""
    from api import models  # noqa: F401  (registers the tables with the metadata)
    from api.docs import swagger_config, template

    db.init_app(app)
    app.teardown_appcontext(release_session)  # runs before Flask-SQLAlchemy's own (reverse order)
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite":
        with app.app_context():
            event.listen(db.engine, "connect", enforce_sqlite_foreign_keys)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    swagger.config = swagger_config()
    swagger.template = template()
    swagger.init_app(app)
    with app.app_context():
        init_cache(app, db.engine)
    init_read_router(app)


def release_session(error: BaseException | None) -> None:
    """End the request's session, tolerating a connection that died after the answer was built.

    If PostgreSQL drops the connection (restart, failover, pg_terminate_backend) between the last
    query and the end of the request, the closing ROLLBACK fails. The answer is already complete
    and right, so the dead connection is discarded (the pool opens a new one) rather than turning
    the response into gunicorn's HTML 500. Any other database error still propagates.
    """
    try:
        db.session.remove()
    except DBAPIError as failure:
        if not failure.connection_invalidated:
            raise
        log.warning("Database connection lost after the response was built; discarded: %s", failure.orig)
        db.session.remove()


def enforce_sqlite_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite ignores foreign keys (and so ON DELETE CASCADE) unless each connection asks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    """`/health`, `/ready`, the versioned API and the other clients' contracts (`api.compat`)."""
    from api import health, pages, v1
    from api.compat import register_compat

    app.register_blueprint(health.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(v1.blueprint)
    register_compat(app)


def register_error_handlers(app: Flask) -> None:
    """JSON `{"detail"}` for every error."""
    from api.errors import register_error_handlers as register

    register(app)


def register_commands(app: Flask) -> None:
    """`flask seed`, `users`, `tokens`, `ingest`, `worker` and `data` (Flask-Migrate adds `flask db`)."""
    from api.commands import register_commands as register

    register(app)
