"""A live app for the third-party contract tools: seeded fixture data and an admin user.

schemathesis' CLI and the generated client talk HTTP, so the app is served from a thread on a
free 127.0.0.1 port (rate limits are off in TestConfig: the run is not throttled).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server

from api.extensions import db
from api.models import User
from tests.support.apps import make_app, migrate_and_seed
from tests.support.fixtures_csv import write_coin_csv

ADMIN = ("contract-admin", "contract-admin-password")


class QuietHandler(WSGIRequestHandler):
    """No werkzeug line per request: a fuzzing run sends over a thousand."""

    def log_request(self, *args, **kwargs) -> None:
        return None


def seeded_app(folder: Path, source: Path | None = None):
    """A SQLite app seeded from `source` (default: two coins, AAA and BTC, in January 2021) with an admin."""
    if source is None:
        source = folder / "csv"
        source.mkdir()
        write_coin_csv(source / "a.csv", "Alpha", "AAA", [(f"2021-01-{d:02d}", float(d)) for d in range(1, 29)])
        write_coin_csv(source / "b.csv", "Bitcoin", "BTC", [(f"2021-01-{d:02d}", 100.0 + d) for d in range(1, 29)])
    app = make_app(f"sqlite:///{folder / 'contract.sqlite'}")
    migrate_and_seed(app, str(source))
    with app.app_context():
        user = User(name=ADMIN[0], role="admin")
        user.set_password(ADMIN[1])
        db.session.add(user)
        db.session.commit()
    return app


@contextmanager
def serving(app) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 from a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
