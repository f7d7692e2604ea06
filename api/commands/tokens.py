"""`flask tokens purge`: drop Bearer tokens that can never authenticate again."""

import click
from flask.cli import with_appcontext

from api.access.auth import purge_tokens
from api.extensions import db


@click.group("tokens")
def tokens_group() -> None:
    """Manage Bearer tokens."""


@tokens_group.command("purge")
@with_appcontext
def purge_tokens_command() -> None:
    """Delete expired and revoked tokens (they can never authenticate again); run daily."""
    click.echo(f"Purged {purge_tokens(db.session)} expired or revoked tokens")
