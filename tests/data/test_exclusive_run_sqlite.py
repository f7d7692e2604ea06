"""One runner at a time on SQLite too: the embedded default's worker processes share its file."""

from __future__ import annotations

import multiprocessing

import sqlalchemy as sa

from utilities.advisory_lock import DAILY_INGEST_LOCK, exclusive_run


def hold_exclusive_run(url: str, held: multiprocessing.Queue, release: multiprocessing.Event) -> None:
    """In another process: take the daily job's lock on a SQLite file and keep it until told."""
    with exclusive_run(sa.create_engine(url), DAILY_INGEST_LOCK) as mine:
        held.put(mine)
        release.wait(timeout=60)


def test_one_runner_at_a_time_across_processes_on_sqlite(tmp_path):
    """The embedded default's workers share a SQLite file: while one runs the daily job, another may not."""
    url = f"sqlite:///{tmp_path / 'data.sqlite'}"
    context = multiprocessing.get_context("spawn")
    held, release = context.Queue(), context.Event()
    other = context.Process(target=hold_exclusive_run, args=(url, held, release))
    other.start()
    try:
        assert held.get(timeout=60) is True
        with exclusive_run(sa.create_engine(url), DAILY_INGEST_LOCK) as mine:
            assert mine is False
    finally:
        release.set()
        other.join(timeout=60)
    with exclusive_run(sa.create_engine(url), DAILY_INGEST_LOCK) as mine:
        assert mine is True
