"""Round trips and index use: the dashboard costs at most 2 SQL statements whatever the number of
coins, and a short list of coins reads days, not histories."""

# The bundled data has 23 coins; the statement count must not depend on that number.

import pytest
import sqlalchemy as sa

from api.extensions import db


@pytest.mark.parametrize(
    ("query", "statements"),
    [
        ("id=all", 1),  # the latest day is a subquery of the ranking statement
        ("id=all&date=2021-07-05", 1),
        ("id=btc,eth,aave,doge,xmr,usdt", 2),  # resolve the symbols, then rank
        ("id=btc,eth&date=2020-01-01&order_by=1m&page=1&per_page=1", 2),
        ("id=all&order_by=24h&order_type=asc&page=30&per_page=1", 1),
    ],
)
def test_dashboard_statement_count(client, sql_statements, query, statements):
    response = client.get(f"/api/v1/dashboard?{query}")
    assert response.status_code == 200
    assert len(sql_statements) == statements, sql_statements


def test_search_is_one_statement(client, sql_statements):
    assert client.get("/api/v1/search?name=btc").status_code == 200
    assert len(sql_statements) == 1


def test_health_touches_no_database(client, sql_statements):
    assert client.get("/health").status_code == 200
    assert sql_statements == []


def test_a_short_dashboard_list_reads_days_not_histories(app, client, sql_statements):
    """`id=` with a few coins probes the four days by the date index, as `id=all` does; it does
    not read each listed coin's whole history by its (currency_id, date) key."""
    captured: list[tuple] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get("/api/v1/dashboard?id=btc,eth,ada").status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    statement, parameters = captured[-1]  # the ranking statement (the first resolves the symbols)
    explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with app.app_context(), engine.connect() as connection:
        plan = [str(row) for row in connection.exec_driver_sql(explain + statement, parameters)]
    text = "\n".join(plan)
    if engine.dialect.name == "sqlite":
        assert "ix_record_date_prices (date=?)" in text, text
        assert "USING INDEX sqlite_autoindex_record_1 (currency_id=?)" not in text, text
    else:
        assert "Seq Scan on record" not in text, text
