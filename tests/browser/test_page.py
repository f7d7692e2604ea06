"""The dashboard page at `/` in headless Chromium: table, sorting, chart, nothing off-origin."""

from __future__ import annotations

import re
from datetime import date, timedelta

from tests.support.browser import requested_urls
from tests.support.paths import ARTIFACTS


def test_page_is_served_without_a_browser(client, truth):
    response = client.get("/?date=2014-06-06&coin=xmr")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"
    html = response.get_data(as_text=True)
    coins_that_day = [s for s, c in truth.coins.items() if date(2014, 6, 6) in c.days]
    assert html.count("<tr>") == len(coins_that_day) + 1  # header row + one per coin
    # The year of XMR's stored days up to that day, one candle each.
    first = date(2014, 6, 6) - timedelta(days=364)
    xmr_days = [day for day in truth.coins["XMR"].days if first <= day <= date(2014, 6, 6)]
    groups = re.findall(r'<g class="candles (?:up|down)">(.*?)</g>', html, re.S)
    assert sum(group.count("<path ") for group in groups) == len(xmr_days)
    assert f"XMR daily candles, {min(xmr_days)} to 2014-06-06" in html


def test_page_in_chromium(browser, live_server, truth):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server}/")
    WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#coins tbody tr"))

    def column(index: int) -> list[str]:
        return [
            row.find_elements(By.TAG_NAME, "td")[index].text
            for row in browser.find_elements(By.CSS_SELECTOR, "#coins tbody tr")
        ]

    symbols = column(1)
    assert len(symbols) == 23  # one row per coin on the latest day
    assert symbols[0] == "BTC"  # largest market cap first
    browser.find_element(By.CSS_SELECTOR, "th[data-key='symbol']").click()
    assert column(1) == sorted(truth.coins)  # clicking a header sorts by it, ascending
    browser.find_element(By.CSS_SELECTOR, "th[data-key='symbol']").click()
    assert column(1) == sorted(truth.coins, reverse=True)
    browser.find_element(By.CSS_SELECTOR, "th[data-key='change_24h']").click()
    changes = [float(text.rstrip("%")) for text in column(3)]  # "+1.45%": a sign, two decimals
    assert len(changes) == 23  # sorting kept every row
    assert changes == sorted(changes)

    candles = browser.find_elements(By.CSS_SELECTOR, "#price-chart .candles path")
    assert len(candles) == 365  # the chart drew BTC's last 365 stored days
    assert browser.find_element(By.CSS_SELECTOR, "#coins td.up") and browser.find_element(
        By.CSS_SELECTOR, "#coins td.down"
    )

    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "dashboard-page.png"))
    network = [url for url in requested_urls(browser) if url.startswith(("http:", "https:", "ws:", "wss:"))]
    assert f"{live_server}/static/dashboard.js" in network
    assert [url for url in network if not url.startswith(live_server + "/")] == []
