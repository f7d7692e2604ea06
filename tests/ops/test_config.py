"""Settings come from the environment: DATABASE_URL, then Elastic Beanstalk's RDS_*, then SQLite."""

from config import DEFAULT_SQLITE_PATH, database_url, normalise_database_url


def test_database_url_wins():
    env = {"DATABASE_URL": "postgresql://u:p@db:5432/x", "RDS_HOSTNAME": "ignored"}
    assert database_url(env) == "postgresql+psycopg2://u:p@db:5432/x"


def test_postgres_scheme_is_pinned_to_psycopg2():
    assert normalise_database_url("postgres://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert normalise_database_url("postgresql+psycopg2://u@h/d") == "postgresql+psycopg2://u@h/d"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_rds_variables_build_a_postgresql_url():
    env = {
        "RDS_HOSTNAME": "abc.rds.amazonaws.com",
        "RDS_PORT": "5433",
        "RDS_DB_NAME": "ebdb",
        "RDS_USERNAME": "admin",
        "RDS_PASSWORD": "p@ss/word",
    }
    assert database_url(env) == "postgresql+psycopg2://admin:p%40ss%2Fword@abc.rds.amazonaws.com:5433/ebdb"


def test_default_is_sqlite_in_instance_folder():
    assert database_url({}) == f"sqlite:///{DEFAULT_SQLITE_PATH}"
    assert DEFAULT_SQLITE_PATH.parent.name == "instance"
