"""The layering rules: the data layer, `utilities/` and `serving/` never import Flask."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import ROOT

UTILITIES = sorted(path.stem for path in (ROOT / "utilities").glob("*.py") if path.stem != "__init__")
FLASK_FREE_SOURCES = sorted(
    [*(ROOT / "utilities").glob("*.py"), *(ROOT / "api" / "sql").glob("*.py"), *(ROOT / "serving").glob("*.py")]
)


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports (anywhere in the file, lazily or not)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_layout_is_what_this_test_checks():
    assert {"schema", "seeding", "exchange_client", "exchange_ingest", "bulk_store"} <= set(UTILITIES)
    assert {"tables", "dashboard", "search", "currencies", "history", "writes", "functions"} <= {
        path.stem for path in FLASK_FREE_SOURCES if path.parent.name == "sql"
    }


@pytest.mark.parametrize("path", FLASK_FREE_SOURCES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_flask_import_in_the_source(path):
    flask_modules = {name for name in imported_modules(path) if name == "flask" or name.startswith("flask_")}
    assert not flask_modules, f"{path.relative_to(ROOT)} imports {sorted(flask_modules)}"


def test_importing_every_utilities_module_loads_no_flask():
    """Not even indirectly: the seeder and ingestion reach the models without the app."""
    code = (
        "import importlib, sys\n"
        f"for name in {UTILITIES!r}:\n"
        "    importlib.import_module('utilities.' + name)\n"
        "print(sorted(name for name in sys.modules if name == 'flask' or name.startswith('flask_')))\n"
        "print(len(sys.modules['utilities.schema'].Base.metadata.tables))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "5"]  # currency, record, supply, user_account, token


def test_the_app_and_the_seeder_share_one_metadata():
    from api.extensions import db
    from api.models import Currency, Record, Supply, Token, User
    from utilities.schema import Base, currency_table, record_table

    assert db.metadata is Base.metadata
    assert currency_table is Currency.__table__ and record_table is Record.__table__
    assert {model.__table__.name for model in (Currency, Record, Supply, Token, User)} == set(Base.metadata.tables)
