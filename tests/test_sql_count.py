"""Round trips: the dashboard costs at most 2 SQL statements whatever the number of coins."""

# The bundled data has 23 coins; the statement count must not depend on that number.

import pytest


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
