"""A page in headless Chromium, served from another origin, calls `/compat/krispyto` with `fetch`
the way the Krispyto client's src/api/api.js does (a GET typed `application/json`, so preflighted),
and renders what its components read: the 8 columns of Dashboard.js, Row.js's link, `error`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from tests.support.apps import make_app

# api.js's two functions, verbatim in what they send and read; the rendering is Dashboard.js's
# table (headers in its order) and Row.js's `/crypto/${crypto}-${symbol}` link.
PAGE = """<!doctype html><html><body>
<table id="table"><tbody></tbody></table><p id="error"></p><p id="found"></p><p id="state">loading</p>
<script>
const BASE_URL = "%(base)s";
const KEYS = ["crypto", "symbol", "price", "1m", "7d", "24h", "24h-volume", "market-cap"];
function call(url) {
  const info = {method: 'GET', headers: {'Content-Type': 'application/json'}};
  return fetch(url, info).then(res => res.json().then(body => ({ok: res.ok, status: res.status, body: body})));
}
async function run() {
  const result = await call(`${BASE_URL}/dashboard?id=all&date=2021-07-06&order_by=market-cap&order_type=desc`);
  for (const row of result.body) {
    const tr = document.createElement("tr");
    tr.dataset.link = `/crypto/${row.crypto}-${row.symbol}`;
    for (const key of KEYS) {
      const td = document.createElement("td");
      td.textContent = row[key] === null || row[key] === undefined ? "" : String(row[key]);
      tr.appendChild(td);
    }
    document.querySelector("#table tbody").appendChild(tr);
  }
  const missing = await call(`${BASE_URL}/search?name=nocoin`);
  document.getElementById("error").textContent = missing.ok ? "" : missing.body.error;
  const found = await call(`${BASE_URL}/search?name=btc`);
  document.getElementById("found").textContent = `${found.body.name}-${found.body.symbol}`;
}
run().then(() => { document.getElementById("state").textContent = "done"; },
           (failure) => { document.getElementById("state").textContent = "failed: " + failure; });
</script></body></html>"""


def serve(app) -> tuple[object, str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


@pytest.fixture
def origins(seeded_database_url) -> Iterator[tuple[str, str, str]]:
    """(allowed page, refused page, API): three origins, the API allowing only the first."""
    base_holder: dict[str, str] = {}  # the pages need the API's address, the API the pages' origins

    def page(environ, start_response):
        return Response(PAGE % {"base": base_holder["api"] + "/compat/krispyto"}, mimetype="text/html")(
            environ, start_response
        )

    allowed, allowed_url = serve(page)
    refused, refused_url = serve(page)
    api, api_url = serve(make_app(seeded_database_url, CORS_ORIGINS=[allowed_url]))
    base_holder["api"] = api_url
    yield allowed_url, refused_url, api_url
    for server in (allowed, refused, api):
        server.shutdown()


def finished(driver) -> str:
    WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "state").text != "loading")
    return driver.find_element(By.ID, "state").text


def test_the_krispyto_client_works_from_an_allowed_origin(browser, origins, truth):
    allowed, _, _ = origins
    browser.get(allowed + "/")
    assert finished(browser) == "done"
    rows = browser.find_elements(By.CSS_SELECTOR, "#table tbody tr")
    on_day = [symbol for symbol, coin in truth.coins.items() if date(2021, 7, 6) in coin.days]
    assert len(rows) == len(on_day)
    first = [cell.text for cell in rows[0].find_elements(By.TAG_NAME, "td")]
    assert first[:3] == ["Bitcoin", "BTC", "34235.19345116"]
    assert all(first), first  # every one of the 8 columns is filled (6 were blank before)
    assert rows[0].get_attribute("data-link") == "/crypto/Bitcoin-BTC"  # was /crypto/undefined-BTC
    assert browser.find_element(By.ID, "error").text == "No currency found with name or symbol 'nocoin'."
    assert browser.find_element(By.ID, "found").text == "Bitcoin-BTC"


def test_another_origin_is_refused_by_the_browser(browser, origins):
    _, refused, _ = origins
    browser.get(refused + "/")
    assert finished(browser).startswith("failed: TypeError")  # the preflight got no Allow-Origin
    assert browser.find_elements(By.CSS_SELECTOR, "#table tbody tr") == []
