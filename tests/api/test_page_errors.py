"""Bad input on the page answers an HTML page a person can act on (the API stays JSON); headings
say what is shown; the coin list holds only stored coins, with their status; figures read well."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
import sqlalchemy as sa

from api.extensions import db


def title_of(html: str) -> str:
    return unescape(re.search(r"<title>(.*?)</title>", html).group(1))


def options_of(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}".*?</select>', html, re.S).group(0)
    return re.findall(r'<option value="([^"]*)"', select)


@pytest.mark.parametrize("raw", ["2021-13-45", "yesterday", "2021-02-30"])
def test_a_bad_date_gets_an_html_page_with_the_form(client, truth, raw):
    response = client.get(f"/?date={raw}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    assert title_of(html) == "Bad request · Crypto dashboard"  # was an empty title over raw JSON
    message = unescape(re.search(r'<p id="error-message">(.*?)</p>', html, re.S).group(1))
    assert raw in message and "YYYY-MM-DD" in message
    assert '<form method="get"' in html and options_of(html, "coin") == sorted(truth.coins)
    assert 'id="price-chart"' not in html


def test_the_api_stays_json(client):
    response = client.get("/api/v1/dashboard?id=all&date=yesterday")
    assert response.status_code == 400 and response.is_json
    assert "date" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("query", "status"),
    [("coin=NOPE", 404), ("coin=%E2%82%AC", 404), ("range=5y", 400), ("coin=btc&coin=eth", 400)],
)
def test_unknown_choices_get_an_html_page(client, truth, query, status):
    response = client.get(f"/?{query}")
    assert response.status_code == status and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert re.search(r'<p id="error-message">.+</p>', html)
    assert options_of(html, "coin") == sorted(truth.coins)  # NOPE is not added to the list
    assert options_of(html, "range") == ["1m", "3m", "1y", "all"]


def test_the_coin_list_holds_only_stored_coins(client, truth):
    html = client.get("/?date=2014-06-06").get_data(as_text=True)
    # Every stored coin can be charted, not only the 5 with a record that day.
    assert options_of(html, "coin") == sorted(truth.coins)


def test_a_day_after_the_data_shows_the_last_day_with_data(client, truth):
    last = truth.latest_day.isoformat()
    response = client.get("/?date=2030-01-01")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert title_of(html).startswith(f"{last} ·")
    assert f"<h2>{len(truth.dashboard(None, truth.latest_day))} coins on {last}</h2>" in html
    assert f"No data after {last}" in html
    assert re.search(rf"BTC daily candles, \d{{4}}-\d\d-\d\d to {last}</h2>", html)
    assert "2030" not in re.sub(r"you asked for 2030-01-01", "", html)  # no heading claims 2030


def test_a_day_before_the_data(client):
    html = client.get("/?date=2000-01-01").get_data(as_text=True)
    assert "<h2>No coins on 2000-01-01</h2>" in html and "No prices for BTC up to 2000-01-01" in html


def cells(html: str, symbol: str) -> list[tuple[str, str]]:
    """(title, text) of each cell of the coin's row."""
    row = re.search(rf'<tr>\s*<td data-value="[^"]*"><a href="[^"]*coin={symbol}&.*?</tr>', html, re.S).group(0)
    found = re.findall(r'<td data-value="[^"]*"(?: class="[^"]*")?(?: title="([^"]*)")?>(.*?)</td>', row, re.S)
    return [(unescape(title), unescape(re.sub(r"<[^>]+>", "", text)).strip()) for title, text in found]


def test_figures_are_compact_with_the_exact_value_in_a_tooltip(client, truth):
    day = date(2021, 7, 6)
    html = client.get(f"/?date={day}").get_data(as_text=True)
    _name, _symbol, price, change_24h, change_7d, change_1m, volume, cap = cells(html, "BTC")
    assert price == ("$34,235.19345116", "$34,235.19")
    assert volume == ("$26,501,259,869.76", "$26.5B") and cap == ("$641,899,161,593.76", "$641.9B")
    expected = [f"{truth.change('BTC', day, back):+.2f}%" for back in (1, 7, 30)]
    assert [change_24h[1], change_7d[1], change_1m[1]] == expected
    xrp = cells(html, "XRP")
    assert xrp[2] == (f"${truth.coins['XRP'].days[day]['Close']}", "$0.6654")


def test_no_data_where_the_data_has_none(client, truth):
    day = date(2013, 12, 26)  # BTC, DOGE, LTC and XRP have volume 0 (unknown) in the CSV
    html = client.get(f"/?date={day}").get_data(as_text=True)
    zero_volume = [s for s, coin in truth.coins.items() if day in coin.days and coin.days[day]["Volume"] == 0]
    assert zero_volume
    for symbol in zero_volume:
        assert cells(html, symbol)[6] == ("", "no data")  # never "$0.00"
    # DOGE's first day has no close 30 days before: its change is "no data", never 0.
    first_doge = min(truth.coins["DOGE"].days)
    doge = cells(client.get(f"/?date={first_doge}").get_data(as_text=True), "DOGE")
    assert [cell[1] for cell in doge[3:6]] == ["no data"] * 3


def test_status_shows_beside_a_coin_that_is_not_active(writable):
    with writable.app_context():
        db.session.execute(
            sa.text("UPDATE currency SET status = 'delisted', status_since = :day WHERE symbol = 'AAA'"),
            {"day": date(2021, 1, 2)},
        )
        db.session.commit()
    html = writable.test_client().get("/?date=2021-01-01&coin=bbb").get_data(as_text=True)
    assert '<span class="status delisted" title="since 2021-01-02">delisted</span>' in html
    assert html.count('class="status ') == 1  # BBB is active: no badge
    assert ">AAA · Alpha (delisted)</option>" in html and ">BBB · Beta</option>" in html
    chart_of_aaa = writable.test_client().get("/?coin=aaa").get_data(as_text=True)
    assert "AAA is delisted since 2021-01-02." in chart_of_aaa
