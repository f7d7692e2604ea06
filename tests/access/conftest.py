"""Apps with other settings on the writable database, for the access-control tests."""

from __future__ import annotations

import pytest

from api.extensions import db
from tests.support.apps import make_app


@pytest.fixture
def apps(writable):
    """Apps on the writable database with other settings; engines disposed at the end."""
    built = []

    def build(**settings):
        app = make_app(
            writable.config["SQLALCHEMY_DATABASE_URI"],
            CACHE_VERSION_FILE=writable.config["CACHE_VERSION_FILE"],
            **settings,
        )
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()
