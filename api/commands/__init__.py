"""The `flask` command line: one module per command group, registered on the app in one call.

Every top-level command, Flask-Migrate's `db` included, is registered guarded (failures.py): a
known failure (database or Redis down, schema missing, unknown exchange) is one line on stderr.
"""

from __future__ import annotations

from flask import Flask

from api.commands.data import data_group
from api.commands.failures import guard
from api.commands.ingest import ingest_command
from api.commands.seed import seed_command
from api.commands.tokens import tokens_group
from api.commands.users import users_group
from api.commands.worker import worker_command


def register_commands(app: Flask) -> None:
    """`flask seed`, `users`, `tokens`, `ingest`, `worker` and `data`, then every command guarded,
    `flask db` included (Flask-Migrate added it when it was bound, before this step)."""
    for command in (seed_command, users_group, tokens_group, ingest_command, worker_command, data_group):
        app.cli.add_command(command)
    for name, command in list(app.cli.commands.items()):
        app.cli.commands[name] = guard(command)
