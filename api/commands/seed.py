"""`flask seed`: load the bundled (or given) CSVs into the database."""

import click
from flask import current_app
from flask.cli import with_appcontext

from api.extensions import db
from utilities.csv_source import CsvSourceError
from utilities.seeding import seed_from_csv


@click.command("seed")
@click.option("--source", help="Folder, .zip or http(s) URL of a zip of CSVs (default: CSV_SOURCE).")
@with_appcontext
def seed_command(source: str | None) -> None:
    """Load the CSVs; rows already stored are kept, so re-running is safe."""
    source = source or current_app.config["CSV_SOURCE"]
    try:
        result = seed_from_csv(db.engine, source)
    except CsvSourceError as error:  # a missing schema is reported by api/commands/failures.py
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Inserted {result.records_inserted} new records from {result.files} files "
        f"in {result.seconds:.2f} s; {result.records_total} records stored."
    )
