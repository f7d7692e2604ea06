"""`flask worker`: run the on-demand backfill jobs queued on Redis (the Procfile's `worker:` line)."""

from __future__ import annotations

import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from api.backfill_jobs import run_worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run queued backfill jobs (RQ) inside this app's context."""
    if not current_app.config["REDIS_URL"]:
        # Started by the Procfile everywhere: without Redis there is no queue, so wait idle
        # instead of exiting and being restarted in a loop.
        click.echo("REDIS_URL is not set: no job queue; the worker idles.", err=True)
        if not burst:
            threading.Event().wait()
        return
    run_worker(burst=burst)
