"""Swagger UI in a real browser: Debian's headless Chromium tries the dashboard operation.

Needs `chromium` and `chromium-driver` (Debian packages; `.ci/run` installs them). Every
request the page makes is recorded: none may leave the app's own origin. The page's console
must stay free of errors (flasgger's default page threw `ReferenceError: None is not defined`).
"""

from __future__ import annotations

import json

from tests.support.browser import requested_urls
from tests.support.paths import ARTIFACTS


def test_swagger_ui_tries_the_dashboard(browser, live_server):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_server}/apidocs/")
    block = wait.until(
        ready.presence_of_element_located((By.CSS_SELECTOR, ".opblock-get:has([data-path='/api/v1/dashboard'])"))
    )
    block.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".opblock-get .try-out__btn"))).click()
    id_input = wait.until(
        ready.presence_of_element_located((By.CSS_SELECTOR, "tr[data-param-name='id'] input[type='text']"))
    )
    # OpenAPI 3 pre-fills every field with its documented example (BTC and ETH on 2021-07-06).
    assert id_input.get_attribute("value") == "btc,eth"
    date_input = browser.find_element(By.CSS_SELECTOR, "tr[data-param-name='date'] input[type='text']")
    assert date_input.get_attribute("value") == "2021-07-06"
    id_input.clear()
    id_input.send_keys("btc,eth")
    browser.find_element(By.CSS_SELECTOR, ".opblock-get .execute").click()
    live = (By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")
    try:
        wait.until(lambda driver: driver.find_element(*live).text.strip().startswith("200"))
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / "swagger-ui-dashboard.png"))
    body = browser.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre").text
    rows = json.loads(body)
    assert [row["symbol"] for row in rows] == ["ETH", "BTC"]  # default order: name, descending

    urls = requested_urls(browser)
    assert any(url.startswith(f"{live_server}/api/v1/dashboard?id=btc") for url in urls)
    # Browser-internal pages (chrome://, data:) are not network requests; every http(s) one stays home.
    network = [url for url in urls if url.startswith(("http:", "https:", "ws:", "wss:"))]
    assert f"{live_server}/apispec_1.json" in network
    assert [url for url in network if not url.startswith(live_server + "/")] == []
    console = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert console == []


def as_screen(browser, width: int) -> None:
    """Lay pages out as a phone (mobile, meta viewport honoured) or a laptop of this width."""
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
    )


def press(browser, element) -> None:
    """Click a button once the page stands still: after a deep link Swagger UI scrolls to the
    operation while it lays out, and a click at a moving button lands on whatever is there. A real
    click, not a scripted one: it blurs the field typed in, which flushes Swagger UI's debounce."""
    from selenium.webdriver.support.ui import WebDriverWait

    last: list = []

    def settled(driver) -> bool:
        where = driver.execute_script(
            "arguments[0].scrollIntoView({block: 'center'});"
            "return [window.scrollY, arguments[0].getBoundingClientRect().top];",
            element,
        )
        still = where == last
        last[:] = where
        return still

    WebDriverWait(browser, 10, poll_frequency=0.3).until(settled)
    element.click()


def test_swagger_ui_fits_a_phone_and_reads_well(browser, live_server):
    """At 420 px: the layout is the screen's width (a viewport meta), the tab has the project's title,
    a date the pattern rejects says why, and a live header is shown as sent."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    as_screen(browser, 420)
    wait = WebDriverWait(browser, 30)
    browser.get(f"{live_server}/apidocs/#/dashboard/get_api_v1_dashboard")  # a deep link opens the operation
    # Swagger UI resolves the parameters' $refs after opening: until then it knows no pattern to check.
    resolved = (By.CSS_SELECTOR, "tr[data-param-name='date'] .parameter__type")
    wait.until(lambda driver: any(e.text.strip() == "string" for e in driver.find_elements(*resolved)))
    press(browser, wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".opblock-get .try-out__btn"))))
    date_input = wait.until(
        ready.presence_of_element_located((By.CSS_SELECTOR, "tr[data-param-name='date'] input[type='text']"))
    )
    assert browser.title == "Crypto price analysis API"  # flasgger's default tab title was "Flasgger"
    date_input.clear()
    date_input.send_keys("2021-13-45")  # clicking Execute blurs the field, which flushes its debounced value
    press(browser, browser.find_element(By.CSS_SELECTOR, ".opblock-get .execute"))
    message = wait.until(
        ready.presence_of_element_located((By.CSS_SELECTOR, "tr[data-param-name='date'] .validation-message"))
    )
    assert "YYYY-MM-DD" in message.text  # the schema's description, not only a red border
    date_input = browser.find_element(By.CSS_SELECTOR, "tr[data-param-name='date'] input[type='text']")  # redrawn
    date_input.clear()
    date_input.send_keys("2021-07-06")
    press(browser, browser.find_element(By.CSS_SELECTOR, ".opblock-get .execute"))
    live = (By.CSS_SELECTOR, ".live-responses-table .response .response-col_status")
    wait.until(lambda driver: driver.find_element(*live).text.strip().startswith("200"))
    assert not browser.find_elements(By.CSS_SELECTOR, "tr[data-param-name='date'] .validation-message")
    lines = browser.find_elements(By.CSS_SELECTOR, ".live-responses-table .headerline")
    headers = [line.text.strip() for line in lines]
    assert [line for line in headers if line.startswith("cache-control:")] == [
        "cache-control: public, max-age=60"  # HTTP_CACHE_MAX_AGE in tests; was "publicmax-age=60"
    ]
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "swagger-ui-phone.png"))
    width, inner = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert inner == 420 and width <= inner  # without the viewport meta a phone laid it out 980 px wide
    console = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert console == []
