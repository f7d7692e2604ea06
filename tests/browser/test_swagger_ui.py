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
