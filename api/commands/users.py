"""`flask users create|list|delete`: API users and their roles."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from api.extensions import db
from api.models import ROLES, User


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
