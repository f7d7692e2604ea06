"""Swagger UI in a real browser: Debian's headless Chromium tries the dashboard operation.

Needs `chromium` and `chromium-driver` (Debian packages; `.ci/run` installs them). Every
request the page makes is recorded: none may leave the app's own origin.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import REQUIRE_SERVICES, make_app

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def browser(tmp_path) -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        if REQUIRE_SERVICES:
            pytest.fail("REQUIRE_SERVICES=1 but chromium/chromedriver are not installed")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--window-size=1280,1600",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def live_server(seeded_database_url) -> Iterator[str]:
    """The app on a free 127.0.0.1 port, served from a thread."""
    server = make_server("127.0.0.1", 0, make_app(seeded_database_url), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


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
