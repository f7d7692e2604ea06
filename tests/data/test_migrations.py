"""The one Alembic chain upgrades an empty database and downgrades back to nothing."""

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from api.extensions import db
from tests.support.apps import make_app
from tests.support.services import BACKENDS


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_upgrade_from_empty_and_downgrade_to_base(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        inspector = sa.inspect(db.engine)
        assert {"currency", "record", "alembic_version"} <= set(inspector.get_table_names())
        assert inspector.get_pk_constraint("record")["constrained_columns"] == ["currency_id", "date"]
        assert [ix["column_names"] for ix in inspector.get_indexes("record")] == [["date", "currency_id"]]
        assert inspector.get_unique_constraints("currency")[0]["column_names"] == ["symbol"]
        columns = {c["name"]: c for c in inspector.get_columns("record")}
        assert isinstance(columns["date"]["type"], sa.Date)
        assert not columns["close"]["nullable"] and columns["marketcap"]["nullable"]
        downgrade(revision="base")
        remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        upgrade()  # and up again from base
        assert {"currency", "record"} <= set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_models_match_the_migrations(tmp_path):
    """No schema drift: autogenerate against the migrated database finds nothing to do."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    app = make_app(f"sqlite:///{tmp_path / 'drift.sqlite'}")
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert diff == []


def test_single_migration_head(project_root):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(project_root / "migrations"))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


INSERT_RECORD = (
    "INSERT INTO record (currency_id, date, open, high, low, close) VALUES (:currency_id, '2021-01-01', 1, 1, 1, 1)"
)


@pytest.mark.parametrize("empty_database_url", BACKENDS, indirect=True)
def test_deleting_a_currency_cascades_to_its_records(empty_database_url):
    app = make_app(empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO currency (id, name, symbol) VALUES (1, 'A', 'A')"))
            conn.execute(sa.text(INSERT_RECORD), {"currency_id": 1})
            conn.execute(sa.text("DELETE FROM currency WHERE id = 1"))
            assert conn.execute(sa.text("SELECT count(*) FROM record")).scalar() == 0
            with pytest.raises(sa.exc.IntegrityError):
                conn.execute(sa.text(INSERT_RECORD), {"currency_id": 9})
        db.engine.dispose()
