"""The page in headless Chromium as a phone (420 px, mobile viewport) and a laptop (1280 px):
nothing wider than the screen, no console errors, the chart for the coin and range asked."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.support.paths import ARTIFACTS

SCREENS = [420, 1280]


def as_screen(browser, width: int) -> None:
    """Lay pages out as a phone (mobile: the meta viewport is honoured) or a laptop of this width."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def fits(browser, width: int) -> None:
    """The layout is the screen's width (a phone zooms out a page it cannot fit) and nothing scrolls sideways."""
    scroll, inner = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == width and scroll <= inner, (scroll, inner)


def console_errors(browser, allowed: str | None = None) -> list[str]:
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not (allowed and allowed in entry["message"])
    ]


@pytest.mark.parametrize("width", SCREENS)
def test_the_page_fits_the_screen_with_the_chart_asked(browser, live_server, truth, width):
    from selenium.webdriver.common.by import By

    as_screen(browser, width)
    day = date(2021, 1, 15)
    browser.get(f"{live_server}/?coin=eth&date={day}&range=3m")
    fits(browser, width)
    # 3 months: the 91 calendar days up to the day asked, one candle per stored day.
    days = [d for d in truth.coins["ETH"].days if day - timedelta(days=90) <= d <= day]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#price-chart .candles path")) == len(days) == 91
    with_volume = [d for d in days if truth.coins["ETH"].days[d]["Volume"] > 0]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#price-chart .volumes rect")) == len(with_volume)
    heading = browser.find_element(By.ID, "chart-title").text
    assert heading == f"ETH daily candles, {min(days)} to {day}"
    svg, section = (browser.find_element(By.CSS_SELECTOR, s).rect["width"] for s in ("#price-chart", "#chart-section"))
    assert 0.7 * min(section, 960) <= svg <= section  # scales with its container (at most 960 px)
    rows = browser.find_elements(By.CSS_SELECTOR, "#coins tbody tr")
    assert len(rows) == len(truth.dashboard(None, day))
    if width < 600:  # the table is wider than a phone: it scrolls inside its own box
        box = browser.execute_script(
            "const b = document.querySelector('.table-scroll'); return [b.scrollWidth, b.clientWidth]"
        )
        assert box[0] > box[1]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"page-eth-3m-{width}.png"))
    assert console_errors(browser) == []


@pytest.mark.parametrize("width", SCREENS)
def test_all_history_is_weekly_candles(browser, live_server, truth, width):
    from selenium.webdriver.common.by import By

    as_screen(browser, width)
    browser.get(f"{live_server}/?coin=xmr&range=all")
    fits(browser, width)
    weeks = {d - timedelta(days=d.weekday()) for d in truth.coins["XMR"].days}  # ISO weeks from Monday
    assert len(browser.find_elements(By.CSS_SELECTOR, "#price-chart .candles path")) == len(weeks)
    heading = browser.find_element(By.ID, "chart-title").text
    assert heading == f"XMR weekly candles, the weeks of {min(weeks)} to {max(weeks)}"
    labels = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#price-chart .day-labels text")]
    assert labels and all(label.isdigit() and len(label) == 4 for label in labels)  # years
    browser.save_screenshot(str(ARTIFACTS / f"page-xmr-all-{width}.png"))
    assert console_errors(browser) == []


@pytest.mark.parametrize("width", SCREENS)
def test_a_bad_date_gives_an_html_page(browser, live_server, width):
    from selenium.webdriver.common.by import By

    as_screen(browser, width)
    browser.get(f"{live_server}/?date=yesterday")
    fits(browser, width)
    assert browser.title == "Bad request · Crypto dashboard"
    message = browser.find_element(By.ID, "error-message").text
    assert "yesterday" in message and "YYYY-MM-DD" in message
    assert browser.find_element(By.CSS_SELECTOR, "form#choose select#coin")
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / f"page-bad-date-{width}.png"))
    # The one error is the document's own status (400), which Chromium logs; nothing else.
    assert console_errors(browser, allowed="?date=yesterday - Failed to load resource") == []
