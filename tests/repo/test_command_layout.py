"""The CLI and job layout: the same `flask` commands, an RQ job path that resolves, no import cycle."""

from __future__ import annotations

import ast
import importlib

import click

from api.backfill_jobs import JOB_FUNCTION, backfill_symbol
from tests.support.paths import ROOT


def test_every_command_and_subcommand_is_registered(app):
    commands = app.cli.list_commands(click.Context(app.cli))
    assert set(commands) >= {"seed", "users", "tokens", "ingest", "worker", "data", "db"}
    context = click.Context(app.cli)
    users = {"create", "list", "delete", "set-password", "set-role", "revoke-tokens"}
    assert set(app.cli.get_command(context, "users").commands) == users
    assert set(app.cli.get_command(context, "tokens").commands) == {"purge"}
    assert set(app.cli.get_command(context, "data").commands) == {"report"}


def test_the_rq_job_path_names_the_job_function():
    """RQ stores the job function as a dotted string: a moved module must not orphan queued jobs."""
    module, _, name = JOB_FUNCTION.rpartition(".")
    assert getattr(importlib.import_module(module), name) is backfill_symbol


def project_imports() -> dict[str, set[str]]:
    """Module -> project modules it imports, top-level and inside functions (lazy imports count)."""
    paths = {}
    for path in [*ROOT.glob("api/**/*.py"), *ROOT.glob("utilities/**/*.py"), ROOT / "config.py", ROOT / "app.py"]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        paths[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {module: set() for module in paths}
    for module, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in filter(None, map(known, names)):
                # A submodule importing its own package (`from api import models`) is not a cycle.
                if target != module and not module.startswith(f"{target}."):
                    graph[module].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as [a, b, ..., a], or None (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_projects_modules():
    graph = project_imports()
    assert "api.ingest_service" in graph["api.backfill_jobs"]  # the job runs the service ...
    assert "api.backfill_jobs" in graph["api.commands.worker"]  # ... and the worker runs the job
    assert find_cycle(graph) is None
