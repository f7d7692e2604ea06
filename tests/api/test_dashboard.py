"""Dashboard values and ordering, checked against numbers computed from the CSV files."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.truth import FIELDS

ORDER_KEYS = list(FIELDS)
CASES = [
    # (id parameter, symbols it means (None: all), day)
    ("all", None, date(2021, 7, 6)),
    ("all", None, date(2021, 7, 5)),
    ("btc,aave", ["BTC", "AAVE"], date(2021, 7, 5)),
    ("eth, xmr ,Usdt,doge", ["ETH", "XMR", "USDT", "DOGE"], date(2019, 1, 15)),
    ("all", None, date(2014, 6, 6)),  # the day after Monero's missing 2014-06-05
    ("all", None, date(2015, 3, 2)),  # Tether's first day after its gap
    ("all", None, date(2013, 5, 10)),  # only Bitcoin and Litecoin exist
]


def dashboard(client, **params):
    return client.get("/api/v1/dashboard", query_string=params)


@pytest.mark.parametrize(("ids", "symbols", "day"), CASES)
@pytest.mark.parametrize("order_by", ORDER_KEYS)
@pytest.mark.parametrize("order_type", ["asc", "desc"])
def test_dashboard_matches_csv(client, truth, ids, symbols, day, order_by, order_type):
    response = dashboard(client, id=ids, date=day.isoformat(), order_by=order_by, order_type=order_type)
    expected = truth.dashboard(symbols, day, order_by, desc=order_type == "desc")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Total-Count"] == str(len(expected))
    assert response.get_json() == expected


def test_dashboard_default_is_latest_day_by_name_descending(client, truth):
    response = dashboard(client, id="all")
    assert response.status_code == 200
    rows = response.get_json()
    assert truth.latest_day == date(2021, 7, 6)
    assert rows == truth.dashboard(None, truth.latest_day, "crypto", desc=True)
    assert len(rows) == 23
    assert rows[0]["name"] == "XRP" and rows[-1]["name"] == "Aave"


def test_dashboard_example_from_spec(client, truth):
    response = dashboard(client, id="btc,aave", date="2021-07-05", order_by="1m", order_type="asc")
    rows = response.get_json()
    assert [row["symbol"] for row in rows] == ["AAVE", "BTC"]
    btc = rows[1]
    closes = truth.coins["BTC"].days
    assert btc["price"] == closes[date(2021, 7, 5)]["Close"] == 33746.00245614
    assert (
        btc["change_1m"]
        == (closes[date(2021, 7, 5)]["Close"] - closes[date(2021, 6, 5)]["Close"])
        / closes[date(2021, 6, 5)]["Close"]
        * 100
    )


def test_dashboard_nulls_after_gap(client, truth):
    rows = dashboard(client, id="xmr", date="2014-06-06").get_json()
    assert len(rows) == 1
    assert rows[0]["change_24h"] is None  # 2014-06-05 is missing
    assert rows[0]["change_7d"] == truth.change("XMR", date(2014, 6, 6), 7)
    assert rows[0]["change_7d"] is not None

    tether = dashboard(client, id="usdt", date="2015-03-02").get_json()[0]
    assert tether["change_24h"] is None and tether["change_7d"] is None and tether["change_1m"] is None


@pytest.mark.parametrize("order_type", ["asc", "desc"])
def test_dashboard_nulls_sort_last_both_ways(client, order_type):
    rows = dashboard(client, id="all", date="2014-06-06", order_by="24h", order_type=order_type).get_json()
    changes = [row["change_24h"] for row in rows]
    assert rows[-1]["symbol"] == "XMR" and changes[-1] is None
    assert None not in changes[:-1]
    assert changes[:-1] == sorted(changes[:-1], reverse=order_type == "desc")


def test_dashboard_ties_break_by_symbol(client):
    # On 2013-05-10 only BTC and LTC exist, both with a volume of 0: a tie broken by symbol.
    for order_type in ("asc", "desc"):
        rows = dashboard(client, id="all", date="2013-05-10", order_by="24h-volume", order_type=order_type).get_json()
        assert [(row["symbol"], row["volume_24h"]) for row in rows] == [("BTC", 0.0), ("LTC", 0.0)]


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("name", "crypto"),
        ("change_24h", "24h"),
        ("change_7d", "7d"),
        ("change_1m", "1m"),
        ("volume_24h", "24h-volume"),
        ("market-cap", "market_cap"),
    ],
)
def test_dashboard_order_by_aliases(client, alias, canonical):
    by_alias = dashboard(client, id="all", date="2021-06-01", order_by=alias, order_type="asc")
    by_canonical = dashboard(client, id="all", date="2021-06-01", order_by=canonical, order_type="asc")
    assert by_alias.status_code == 200
    assert by_alias.get_data() == by_canonical.get_data()


def test_dashboard_ids_case_spaces_duplicates(client):
    reference = dashboard(client, id="AAVE,BTC", date="2021-07-05").get_data()
    for ids in ("btc,aave", " aave , btc ", "Btc,AAVE,btc,aave", "aave,,btc,"):
        response = dashboard(client, id=ids, date="2021-07-05")
        assert response.status_code == 200, ids
        assert response.get_data() == reference, ids
    repeated = client.get("/api/v1/dashboard?id=btc&id=aave&date=2021-07-05")
    assert repeated.get_data() == reference


def test_dashboard_unpadded_date(client):
    padded = dashboard(client, id="all", date="2021-01-09")
    unpadded = dashboard(client, id="all", date="2021-1-9")
    assert unpadded.status_code == 200
    assert unpadded.get_data() == padded.get_data()
    assert unpadded.get_json()[0]["date"] == "2021-01-09"


def test_dashboard_paging(client, truth):
    expected = truth.dashboard(None, date(2021, 7, 6), "market_cap", desc=True)
    pages = []
    for page in (1, 2, 3):
        response = dashboard(client, id="all", order_by="market_cap", page=page, per_page=10)
        assert response.status_code == 200
        assert response.headers["X-Total-Count"] == "23"
        pages.append(response.get_json())
    assert [len(p) for p in pages] == [10, 10, 3]
    assert pages[0] + pages[1] + pages[2] == expected
    beyond = dashboard(client, id="all", page=4, per_page=10)
    assert beyond.status_code == 200
    assert beyond.get_json() == []
    assert beyond.headers["X-Total-Count"] == "23"


def test_dashboard_default_per_page_is_100_and_max_1000(client):
    assert len(dashboard(client, id="all").get_json()) == 23
    assert dashboard(client, id="all", per_page=1000).status_code == 200
    assert dashboard(client, id="all", per_page=1001).status_code == 400


def test_dashboard_no_record_on_day_is_204(client):
    for params in ({"id": "all", "date": "2000-01-01"}, {"id": "aave", "date": "2020-01-01"}):
        response = dashboard(client, **params)
        assert response.status_code == 204
        assert response.get_data() == b""
        assert "X-Total-Count" not in response.headers


def test_dashboard_only_coins_with_a_record_that_day(client, truth):
    rows = dashboard(client, id="btc,aave", date="2020-01-01").get_json()
    assert [row["symbol"] for row in rows] == ["BTC"]
    assert rows[0]["price"] == truth.coins["BTC"].days[date(2020, 1, 1)]["Close"]


def test_dashboard_scientific_notation_and_zero_values(client):
    # coin_Dogecoin.csv writes this close as 9.862059960141778e-05; early volumes are 0.
    row = dashboard(client, id="doge", date="2015-04-28").get_json()[0]
    assert row["price"] == 9.862059960141778e-05
    assert dashboard(client, id="doge", date="2013-12-20").get_json()[0]["volume_24h"] == 0.0
