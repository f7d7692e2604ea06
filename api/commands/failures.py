"""One line instead of a traceback: the known failures of every `flask` command, with cause and fix.

`register_commands` wraps each top-level command of the app's CLI (ours and Flask-Migrate's `db`)
with `guard`, so a command module raises whatever its libraries raise and this one place turns a
known failure into `Error: <cause>: <fix>` on stderr and an exit code scripts can tell apart
(sysexits.h; serving/start.sh retries migrations in the background on 69 only). A bad setting
fails while Flask loads the app, before any command runs: `config.SettingsError` is a click
exception, so click prints its line (exit 78) itself. `LOG_LEVEL=DEBUG` or `flask --debug` keeps
the traceback. docs/troubleshooting.md lists each line.
"""

from __future__ import annotations

import copy
import functools
import os

import click
from flask import current_app
from flask.helpers import get_debug_flag
from sqlalchemy.engine import make_url

EX_DATAERR = 65  # unknown exchange or symbol: the input names something that does not exist
EX_UNAVAILABLE = 69  # the database or Redis does not answer (yet): worth retrying
EX_CONFIG = 78  # a setting is missing or invalid, or the schema is missing: retrying will not help
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a missing table


class CommandFailure(click.ClickException):
    """A known failure: click prints `Error: <message>` on stderr and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def first_line(error: BaseException) -> str:
    """The driver's own first line (`connection refused`, `no such table: x`), without SQL or links."""
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def shown_url(url: str | None) -> str:
    """A URL fit for a terminal: the password masked."""
    if not url:
        return "unset"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ValueError:  # e.g. a Redis URL SQLAlchemy cannot parse: drop credentials by hand
        scheme, _, rest = url.partition("://")
        return f"{scheme}://{rest.rpartition('@')[2]}"


def setting(name: str) -> str | None:
    """A setting of the loaded app (the command runs inside its context)."""
    return current_app.config.get(name) if current_app else os.environ.get(name)


def schema_missing(error: BaseException) -> bool:
    """A missing table on either backend (the migrations have not run)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from utilities.seeding import SchemaMissingError

    if isinstance(error, SchemaMissingError):
        return True
    orig = getattr(error, "orig", None)
    if isinstance(error, ProgrammingError):
        return getattr(orig, "pgcode", None) == UNDEFINED_TABLE
    return isinstance(error, OperationalError) and first_line(error).startswith("no such table")


def explain(error: BaseException) -> CommandFailure | None:
    """The one line for a known failure, or None for anything else (which keeps its traceback)."""
    import redis.exceptions
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    from utilities.exchange_client import UnknownExchangeError
    from utilities.seeding import SchemaMissingError

    if schema_missing(error):
        if isinstance(error, SchemaMissingError):
            return CommandFailure(str(error), EX_CONFIG)
        return CommandFailure(
            f"the database schema is missing ({first_line(error)}): run `flask db upgrade` first", EX_CONFIG
        )
    if isinstance(error, OperationalError | PoolTimeoutError):
        url = shown_url(setting("SQLALCHEMY_DATABASE_URI"))
        return CommandFailure(
            f"the database does not answer ({first_line(error)}): start it, or point DATABASE_URL "
            f"at one that runs (now {url})",
            EX_UNAVAILABLE,
        )
    if isinstance(error, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        url = shown_url(setting("REDIS_URL"))
        return CommandFailure(
            f"Redis does not answer ({first_line(error)}): start it, or fix REDIS_URL (now {url}); "
            "without REDIS_URL there is no job queue",
            EX_UNAVAILABLE,
        )
    if isinstance(error, UnknownExchangeError):
        return CommandFailure(f"{error}: check --exchange or INGEST_EXCHANGE", EX_DATAERR)
    return None


def known_failures() -> tuple[type[BaseException], ...]:
    """The exception classes `explain` knows, imported when a command runs (never by the web app)."""
    import redis.exceptions
    from sqlalchemy.exc import OperationalError, ProgrammingError
    from sqlalchemy.exc import TimeoutError as PoolTimeoutError

    from utilities.exchange_client import UnknownExchangeError
    from utilities.seeding import SchemaMissingError

    return (
        OperationalError,
        ProgrammingError,
        PoolTimeoutError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        UnknownExchangeError,
        SchemaMissingError,
    )


def tracebacks_wanted() -> bool:
    """`LOG_LEVEL=DEBUG` or `flask --debug` (FLASK_DEBUG): keep the full traceback."""
    level = setting("LOG_LEVEL") or os.environ.get("LOG_LEVEL") or ""
    return str(level).upper() == "DEBUG" or get_debug_flag()


class Guarded(click.Command):
    """Mixed into a command's own class: its known failures (and its subcommands') become one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except known_failures() as error:
            failure = explain(error)
            if failure is None or tracebacks_wanted():
                raise
            raise failure from error


@functools.cache
def guarded_class(base: type[click.Command]) -> type[click.Command]:
    """`Guarded` + the command's class (a Group stays a Group), built once per class."""
    return type(f"Guarded{base.__name__}", (Guarded, base), {})


def guard(command: click.Command) -> click.Command:
    """A guarded copy of `command`; the shared module-level object is left as it is."""
    if isinstance(command, Guarded):
        return command
    clone = copy.copy(command)
    clone.__class__ = guarded_class(type(command))
    return clone
