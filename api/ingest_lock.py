"""`flask ingest --update` runs on every instance's schedule; exactly one does the work."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from api.extensions import db
from utilities.advisory_lock import DAILY_INGEST_LOCK, exclusive_run


def one_update_at_a_time(command: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap the ingest command: with `--update`, skip (exit 0) while another process holds the lock.

    Every Elastic Beanstalk instance runs the daily job (a leader-only cron entry is lost when the
    leader is replaced); the first to take the lock ingests, the others say so and stop. A late
    second run finds nothing new: `--update` continues from the latest stored day."""

    @functools.wraps(command)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("update"):
            return command(*args, **kwargs)
        with exclusive_run(db.engine, DAILY_INGEST_LOCK) as held:
            if not held:
                click.echo("Another process is running `flask ingest --update` on this database: skipped.")
                return None
            return command(*args, **kwargs)

    return guarded
