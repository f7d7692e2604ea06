"""The `flask` command line: one module per command group, registered on the app in one call."""

from __future__ import annotations

from flask import Flask

from api.commands.data import data_group
from api.commands.ingest import ingest_command
from api.commands.seed import seed_command
from api.commands.tokens import tokens_group
from api.commands.users import users_group
from api.commands.worker import worker_command


def register_commands(app: Flask) -> None:
    """`flask seed`, `users`, `tokens`, `ingest`, `worker` and `data` (Flask-Migrate adds `flask db`)."""
    for command in (seed_command, users_group, tokens_group, ingest_command, worker_command, data_group):
        app.cli.add_command(command)
