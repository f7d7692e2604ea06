"""A clock the test moves by hand, and a 24th coin added and removed through a writer app."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from api.extensions import db
from tests.support.fixtures_csv import write_coin_csv
from utilities.seeding import seed_from_csv


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def added_testcoin(writer: Flask, folder: Path) -> Iterator[None]:
    """A 24th coin, TSTC (2021-07-05 and -06), seeded through `writer` and removed afterwards;
    both steps invalidate cached reads by committing, as every write does (no explicit call)."""
    folder.mkdir()
    write_coin_csv(folder / "coin.csv", "Testcoin", "TSTC", [("2021-07-05", 1.0), ("2021-07-06", 2.0)])
    with writer.app_context():
        seed_from_csv(db.engine, str(folder), progress=False)
        try:
            yield
        finally:
            currency = sa.table("currency", sa.column("symbol"))
            with db.engine.begin() as conn:
                conn.execute(sa.delete(currency).where(currency.c.symbol == "TSTC"))
