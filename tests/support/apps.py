"""Test apps: one on a given database, and a database migrated and seeded for it."""

from __future__ import annotations

from flask_migrate import upgrade

from api import create_app
from api.extensions import db
from config import BUNDLED_CSV
from tests.support.settings import TestConfig
from utilities.seeding import seed_from_csv


def make_app(database_url: str, **overrides):
    """A test app on `database_url`."""
    return create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, **overrides)


def migrate_and_seed(app, source: str = str(BUNDLED_CSV)) -> None:
    """Run every migration, then seed from `source` (the bundled CSVs by default)."""
    with app.app_context():
        upgrade()
        seed_from_csv(db.engine, source, progress=False)
        db.engine.dispose()
