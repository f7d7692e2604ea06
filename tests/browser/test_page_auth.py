"""The page behind READ_AUTH=on in a real browser: Chromium answers the Basic challenge and the
page, its stylesheet and its script all load (static files stay open)."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server

from api.extensions import db
from tests.support.apps import make_app
from tests.support.browser import requested_urls
from tests.support.writable import PASSWORDS


def test_page_with_read_auth_in_chromium(browser, writable):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    app = make_app(writable.config["SQLALCHEMY_DATABASE_URI"], READ_AUTH=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"127.0.0.1:{server.server_port}"
    try:
        browser.get(f"http://{base}/?coin=aaa")  # no credentials: the login dialog, no data
        assert "Alpha" not in browser.page_source
        browser.get(f"http://rea:{PASSWORDS['rea']}@{base}/?coin=aaa")  # what the login dialog sends
        WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#coins tbody tr"))
        rows = browser.find_elements(By.CSS_SELECTOR, "#coins tbody tr")
        # The default day is the latest day every active coin has: 2021-01-01, where both have a row.
        assert [row.find_elements(By.TAG_NAME, "td")[1].text for row in rows] == ["AAA", "BBB"]
        assert browser.find_elements(By.CSS_SELECTOR, "#price-chart .candles path")
        scripts = [url for url in requested_urls(browser) if url.endswith("/static/dashboard.js")]
        assert scripts == [f"http://rea:{PASSWORDS['rea']}@{base}/static/dashboard.js"]
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()
