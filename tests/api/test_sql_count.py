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


def last_statement(app, client, path: str) -> tuple[str, object]:
    """The last SQL statement (and its parameters) the request to `path` ran."""
    captured: list[tuple] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get(path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", keep)
    return captured[-1]


def explain(app, statement: str, parameters, analyze: bool = False) -> list:
    """SQLite's query plan rows, or PostgreSQL's plan as JSON (run, with ANALYZE)."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return [tuple(row) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
        options = "(ANALYZE, FORMAT JSON)" if analyze else "(FORMAT JSON)"
        return connection.exec_driver_sql(f"EXPLAIN {options} " + statement, parameters).scalar()


def plan_nodes(node: dict):
    """A PostgreSQL plan node and every node below it."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def test_a_short_dashboard_list_reads_days_not_histories(app, client):
    """`id=` with a few coins probes the four days by the date index, as `id=all` does; it does
    not read each listed coin's whole history by its (currency_id, date) key."""
    statement, parameters = last_statement(app, client, "/api/v1/dashboard?id=btc,eth,ada")
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        text = str(explain(app, statement, parameters))
        assert "ix_record_date_prices (date=?)" in text, text
        assert "USING INDEX sqlite_autoindex_record_1 (currency_id=?)" not in text, text
    else:
        plan = explain(app, statement, parameters)[0]["Plan"]
        scans = [node["Node Type"] for node in plan_nodes(plan) if node.get("Relation Name") == "record"]
        assert scans and "Seq Scan" not in scans, scans


def test_history_looks_up_the_coins_latest_day_once(app, client):
    """`X-Data-Through` comes from one probe per request, not one per candle."""
    path = "/api/v1/currencies/btc/history?start=2011-07-06&end=2021-07-06&interval=1d"
    statement, parameters = last_statement(app, client, path)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        rows = explain(app, statement, parameters)
        parents = {node_id: parent for node_id, parent, _, _ in rows}
        correlated = [node_id for node_id, _, _, detail in rows if detail.startswith("CORRELATED SCALAR SUBQUERY")]
        assert correlated and all(parents[node_id] != 0 for node_id in correlated), rows  # not per output row
    else:
        plan = explain(app, statement, parameters, analyze=True)[0]["Plan"]
        loops = {node["Node Type"]: node["Actual Loops"] for node in plan_nodes(plan) if node["Actual Loops"] > 1}
        assert loops == {}, loops
