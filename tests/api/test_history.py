"""History candles at 1d, 1w and 1M, checked against numbers computed from the CSV files."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest

from tests.support.apps import make_app, migrate_and_seed
from tests.support.fixtures_csv import write_coin_csv
from tests.support.truth import CsvTruth


def period_of(day: date, interval: str) -> date:
    if interval == "1w":
        return day - timedelta(days=day.weekday())
    if interval == "1M":
        return day.replace(day=1)
    return day


def expected_candles(truth: CsvTruth, symbol: str, start: date, end: date, interval: str) -> list[dict]:
    """Aggregate the CSV rows in Python, independently of the app's SQL."""
    groups: dict[date, list[tuple[date, dict]]] = {}
    for day, values in sorted(truth.coins[symbol].days.items()):
        if start <= day <= end:
            groups.setdefault(period_of(day, interval), []).append((day, values))
    return [
        {
            "period_start": period.isoformat(),
            "days": len(days),
            "open": days[0][1]["Open"],
            "high": max(v["High"] for _, v in days),
            "low": min(v["Low"] for _, v in days),
            "close": days[-1][1]["Close"],
            "volume": sum(v["Volume"] for _, v in days),
            "market_cap": days[-1][1]["Marketcap"],
            "source": "csv",
            "volume_estimated": False,
            "market_cap_estimated": False,
            "volume_source": "csv",
            "marketcap_source": "csv",
            "volume_scope": "aggregate",
        }
        for period, days in groups.items()
    ]


def assert_same_candles(actual: list[dict], expected: list[dict]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        # A database may add volumes in another order than Python: equal to the last bits.
        assert got["volume"] == pytest.approx(want["volume"], rel=1e-12, abs=1e-9)
        assert {k: v for k, v in got.items() if k != "volume"} == {k: v for k, v in want.items() if k != "volume"}


CASES = [
    ("BTC", date(2013, 4, 29), date(2021, 7, 6)),  # all of it
    ("XMR", date(2014, 5, 20), date(2014, 7, 15)),  # across Monero's missing 2014-06-05
    ("USDT", date(2015, 2, 20), date(2015, 4, 10)),  # across Tether's gaps
    ("DOGE", date(2015, 4, 1), date(2015, 6, 30)),  # scientific notation
    ("AAVE", date(2020, 10, 5), date(2021, 1, 3)),  # from its first day
]


@pytest.mark.parametrize("interval", ["1d", "1w", "1M"])
@pytest.mark.parametrize(("symbol", "start", "end"), CASES)
def test_history_matches_csv(client, truth, symbol, start, end, interval):
    response = client.get(
        f"/api/v1/currencies/{symbol.lower()}/history",
        query_string={"start": start.isoformat(), "end": end.isoformat(), "interval": interval},
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert_same_candles(response.get_json(), expected_candles(truth, symbol, start, end, interval))


def test_monero_gap_shows_in_days(client):
    weeks = client.get("/api/v1/currencies/XMR/history?start=2014-06-02&end=2014-06-08&interval=1w").get_json()
    assert [(w["period_start"], w["days"]) for w in weeks] == [("2014-06-02", 6)]  # 7 days, one missing


def test_default_range_is_last_365_stored_days(client, truth):
    candles = client.get("/api/v1/currencies/btc/history").get_json()
    days = sorted(truth.coins["BTC"].days)[-365:]
    assert [c["period_start"] for c in candles] == [d.isoformat() for d in days]
    only_end = client.get("/api/v1/currencies/xmr/history?end=2015-01-01").get_json()
    xmr_days = sorted(d for d in truth.coins["XMR"].days if d <= date(2015, 1, 1))[-365:]
    assert [c["period_start"] for c in only_end] == [d.isoformat() for d in xmr_days]
    assert len(client.get("/api/v1/currencies/aave/history?start=2021-07-01").get_json()) == 6


def test_csv_parses_back_to_the_same_values(client):
    as_json = client.get("/api/v1/currencies/doge/history?start=2015-01-01&end=2015-12-31&interval=1w").get_json()
    response = client.get("/api/v1/currencies/doge/history?start=2015-01-01&end=2015-12-31&interval=1w&format=csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == [
        "period_start",
        "days",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "market_cap",
        "source",
        "volume_estimated",
        "market_cap_estimated",
        "volume_source",
        "marketcap_source",
        "volume_scope",
    ]
    text_fields = {"period_start", "source", "volume_source", "marketcap_source", "volume_scope"}
    flags = {"volume_estimated", "market_cap_estimated"}

    def value(k: str, v: str):
        if k in text_fields:
            return v
        if k in flags:
            return {"True": True, "False": False}[v]
        return int(v) if k == "days" else float(v)

    parsed = [{k: value(k, v) for k, v in row.items()} for row in rows]
    assert parsed == as_json
    by_accept = client.get(
        "/api/v1/currencies/doge/history?start=2015-01-01&end=2015-12-31&interval=1w", headers={"Accept": "text/csv"}
    )
    assert by_accept.get_data() == response.get_data()
    assert by_accept.headers["Vary"] == "Accept"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("start=2021-02-30", "start"),
        ("end=yesterday", "end"),
        ("start=2021-07-06&end=2021-07-01", "start"),
        ("interval=1y", "interval"),
        ("interval=1m", "interval"),
        ("format=xml", "format"),
        ("start=1899-12-31", "start"),
    ],
)
def test_history_rejects_bad_parameters(client, query, param):
    response = client.get(f"/api/v1/currencies/btc/history?{query}")
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {param}


def test_history_unknown_symbol_and_empty_range(client):
    unknown = client.get("/api/v1/currencies/nope/history")
    assert unknown.status_code == 404
    assert unknown.get_json() == {"detail": "Unknown symbol: NOPE"}
    empty = client.get("/api/v1/currencies/aave/history?start=2019-01-01&end=2019-12-31")
    assert empty.status_code == 204 and empty.get_data() == b""
    assert "Content-Type" not in empty.headers


def test_history_is_one_statement(client, sql_statements):
    for interval in ("1d", "1w", "1M"):
        sql_statements.clear()
        assert client.get(f"/api/v1/currencies/btc/history?interval={interval}&start=2013-01-01").status_code == 200
        assert len(sql_statements) == 1
    sql_statements.clear()
    client.get("/api/v1/currencies/nope/history")
    assert len(sql_statements) == 1


def test_more_than_5000_candles_is_400(tmp_path):
    first = date(2000, 1, 1)
    closes = [((first + timedelta(days=n)).isoformat(), 1.0 + n) for n in range(5001)]
    write_coin_csv(tmp_path / "long.csv", "Longcoin", "LONG", closes)
    app = make_app(f"sqlite:///{tmp_path / 'long.sqlite'}")
    migrate_and_seed(app, str(tmp_path))
    client = app.test_client()
    last = first + timedelta(days=5000)
    url = "/api/v1/currencies/long/history?start=2000-01-01&end={end}&interval={interval}"
    too_many = client.get(url.format(end=last.isoformat(), interval="1d"))
    assert too_many.status_code == 400
    assert "narrow start/end or use a longer interval" in too_many.get_json()["detail"]
    exactly = client.get(url.format(end=(last - timedelta(days=1)).isoformat(), interval="1d"))
    assert exactly.status_code == 200 and len(exactly.get_json()) == 5000
    weeks = {first + timedelta(days=n) - timedelta(days=(first + timedelta(days=n)).weekday()) for n in range(5001)}
    assert len(client.get(url.format(end=last.isoformat(), interval="1w")).get_json()) == len(weeks)
