"""The start-up step: work the server does once it runs, in the background, never blocking boot.

`create_app()` does no I/O. gunicorn's `post_worker_init` hook (gunicorn.conf.py) calls
`start_in_background(app)` in every worker: a daemon thread checks Redis's memory policy and
seeds empty tables, retrying with back-off while the database is down. Under N workers the
seed lock (utilities/seeding.py) makes exactly one of them load the data.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask

from api.extensions import db
from api.redis_policy import check_redis_memory_policy
from utilities.seeding import SeedResult, seed_when_reachable

log = logging.getLogger(__name__)
STARTUP_DONE = "startup_done"


def run_startup(app: Flask, stop: threading.Event | None = None) -> SeedResult | None:
    """Check Redis's eviction policy, then seed empty tables once the database answers."""
    with app.app_context():
        if app.config["REDIS_URL"]:
            check_redis_memory_policy(app.config["REDIS_URL"])
        if not app.config["SEED_ON_STARTUP"]:
            return None
        return seed_when_reachable(db.engine, app.config["CSV_SOURCE"], stop=stop)


def start_in_background(app: object) -> threading.Thread | None:
    """Run `run_startup` on a daemon thread (gunicorn hands over whatever it loaded: a Flask app).

    Until it has finished, `/ready` answers 503 (an empty database is being seeded).
    """
    if not isinstance(app, Flask):
        return None
    done = app.extensions[STARTUP_DONE] = threading.Event()

    def run() -> None:
        try:
            run_startup(app)
        finally:
            done.set()

    thread = threading.Thread(target=run, name="startup-inspector", daemon=True)
    thread.start()
    return thread


def startup_pending(app: Flask) -> bool:
    """Whether a background start-up step was started and has not finished yet."""
    done = app.extensions.get(STARTUP_DONE)
    return done is not None and not done.is_set()
