"""CLI commands: `flask seed`, `flask users create|list|delete` and `flask tokens purge`."""

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from api.auth import purge_tokens
from api.extensions import db
from api.models import ROLES, User
from utilities.csv_source import CsvSourceError
from utilities.inspector import SchemaMissingError, seed_from_csv


@click.command("seed")
@click.option("--source", help="Folder, .zip or http(s) URL of a zip of CSVs (default: CSV_SOURCE).")
@with_appcontext
def seed_command(source: str | None) -> None:
    """Load the CSVs; rows already stored are kept, so re-running is safe."""
    source = source or current_app.config["CSV_SOURCE"]
    try:
        result = seed_from_csv(db.engine, source)
    except (SchemaMissingError, CsvSourceError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Inserted {result.records_inserted} new records from {result.files} files "
        f"in {result.seconds:.2f} s; {result.records_total} records stored."
    )


@click.group("users")
def users_group() -> None:
    """Manage API users (passwords are stored hashed)."""


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.password_option(help="Prompted for (twice) when not given; never echoed.")
@with_appcontext
def create_user(name: str, role: str, password: str) -> None:
    """Create user NAME with a role: admin, writer or reader."""
    if not 1 <= len(name) <= 64:
        raise click.ClickException("NAME must be 1-64 characters")
    if len(password) < 8:
        raise click.ClickException("the password must have at least 8 characters")
    if db.session.execute(select(User).where(User.name == name)).scalar_one_or_none():
        raise click.ClickException(f"user {name} already exists")
    user = User(name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"Created {role} {name}")


@users_group.command("list")
@with_appcontext
def list_users() -> None:
    """Every user with its role."""
    for user in db.session.execute(select(User).order_by(User.name)).scalars():
        click.echo(f"{user.name}\t{user.role}\t{user.created_at:%Y-%m-%d %H:%M}")


@users_group.command("delete")
@click.argument("name")
@with_appcontext
def delete_user(name: str) -> None:
    """Delete user NAME and its tokens."""
    user = db.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {name}")
    db.session.delete(user)
    db.session.commit()
    click.echo(f"Deleted {name}")


@click.group("tokens")
def tokens_group() -> None:
    """Manage Bearer tokens."""


@tokens_group.command("purge")
@with_appcontext
def purge_tokens_command() -> None:
    """Delete expired and revoked tokens (they can never authenticate again); run daily."""
    click.echo(f"Purged {purge_tokens(db.session)} expired or revoked tokens")
