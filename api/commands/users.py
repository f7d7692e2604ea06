"""`flask users create|list|delete|set-password|set-role|revoke-tokens`: API users and their roles.

Names and passwords follow `api.access.account_policy`; names are unique regardless of case.
"""

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from api.access.account_policy import MIN_LENGTH, PolicyError, check_name, check_password
from api.access.auth import revoke_user_tokens
from api.extensions import db
from api.models import ROLES, User


@click.group("users")
def users_group() -> None:
    """Manage API users (passwords are stored hashed)."""


def find_user(name: str) -> User:
    """The user called exactly `name`, else a clean CLI error."""
    user = db.session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"no user {printable(name)}")
    return user


def printable(name: str) -> str:
    """`name` with control characters escaped: a legacy name never forges a line of output."""
    return "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in name)


def checked(check, *args) -> None:
    try:
        check(*args)
    except PolicyError as error:
        raise click.ClickException(str(error)) from None


@users_group.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.password_option(help="Prompted for (twice) when not given; never echoed.")
@with_appcontext
def create_user(name: str, role: str, password: str) -> None:
    """Create user NAME with a role: admin, writer or reader."""
    checked(check_name, name)
    checked(check_password, password, name, role)
    taken = db.session.execute(select(User.name).where(func.lower(User.name) == name.lower())).scalar_one_or_none()
    if taken is not None:
        raise click.ClickException(f"user {name} already exists" + ("" if taken == name else f" (as {taken})"))
    user = User(name=name, role=role)
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:  # created at the same moment by another command
        db.session.rollback()
        raise click.ClickException(f"user {name} already exists") from None
    click.echo(f"Created {role} {name}")


@users_group.command("list")
@with_appcontext
def list_users() -> None:
    """Every user with its role."""
    for user in db.session.execute(select(User).order_by(User.name)).scalars():
        click.echo(f"{printable(user.name)}\t{user.role}\t{user.created_at:%Y-%m-%d %H:%M}")


@users_group.command("delete")
@click.argument("name")
@with_appcontext
def delete_user(name: str) -> None:
    """Delete user NAME and its tokens."""
    user = find_user(name)
    db.session.delete(user)
    db.session.commit()
    click.echo(f"Deleted {printable(name)}")


@users_group.command("set-password")
@click.argument("name")
@click.password_option(help="Prompted for (twice) when not given; never echoed.")
@with_appcontext
def set_password(name: str, password: str) -> None:
    """Give user NAME a new password and revoke its tokens (every session ends)."""
    user = find_user(name)
    checked(check_password, password, user.name, user.role)
    user.set_password(password)
    revoked = revoke_user_tokens(db.session, user)
    db.session.commit()
    click.echo(f"Changed the password of {printable(name)}; revoked {revoked} tokens")


@users_group.command("set-role")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True)
@with_appcontext
def set_role(name: str, role: str) -> None:
    """Give user NAME another role (effective at its next request, tokens included)."""
    user = find_user(name)
    if user.role == "admin" and role != "admin":
        admins = db.session.execute(select(func.count()).select_from(User).where(User.role == "admin")).scalar_one()
        if admins == 1:
            raise click.ClickException(f"{printable(name)} is the last admin; make another admin first")
    previous, user.role = user.role, role
    db.session.commit()
    click.echo(f"{printable(name)}: {previous} -> {role}")
    if role == "admin" and previous != "admin":
        # The stored hash cannot tell how long the password is: ask for one that meets the admin rule.
        least = MIN_LENGTH["admin"]
        click.echo(f"Admins need a password of at least {least} characters: flask users set-password {printable(name)}")


@users_group.command("revoke-tokens")
@click.argument("name")
@with_appcontext
def revoke_tokens(name: str) -> None:
    """Revoke every live Bearer token of user NAME (a lost laptop, a leaked script)."""
    user = find_user(name)
    revoked = revoke_user_tokens(db.session, user)
    db.session.commit()
    click.echo(f"Revoked {revoked} tokens of {printable(name)}")
