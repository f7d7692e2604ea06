"""A Python client generated from the served document by openapi-python-client calls the live API.

The client is generated into a temporary folder on every run (nothing generated is committed):
if the document cannot express an operation, the client cannot call it and this test fails.
Values are checked against the bundled CSVs (tests/support/truth.py), not against the app.
"""

from __future__ import annotations

import base64
import csv
import importlib
import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from config import BUNDLED_CSV
from tests.support.contract_server import ADMIN, seeded_app, serving

PACKAGE = "crypto_api_client"
DAY = date(2021, 7, 6)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """(the generated package, the live server's base URL), with the bundled data and an admin user."""
    folder = tmp_path_factory.mktemp("generated-client")
    config = folder / "generator.yml"
    config.write_text("post_hooks: []\n")  # no formatter run: the code is imported, never committed
    with serving(seeded_app(folder, BUNDLED_CSV)) as base_url:
        generator = Path(sys.executable).parent / "openapi-python-client"
        command = [str(generator), "generate", "--url", f"{base_url}/openapi.json", "--meta", "none"]
        command += ["--output-path", str(folder / PACKAGE), "--config", str(config)]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
        sys.path.insert(0, str(folder))
        try:
            yield importlib.import_module(PACKAGE), base_url
        finally:
            sys.path.remove(str(folder))
            for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
                del sys.modules[name]


def api(package, module: str):
    """One generated operation module, e.g. `currencies.get_api_v1_currencies_symbol_history`."""
    return importlib.import_module(f"{package.__name__}.api.{module}")


def test_reads_through_the_generated_client(generated, truth):
    package, base_url = generated
    client = package.Client(base_url=base_url, raise_on_unexpected_status=True)
    btc = truth.coins["BTC"].days[DAY]

    dashboard = api(package, "dashboard.get_api_v1_dashboard")
    rows = dashboard.sync(client=client, id="btc,eth", date=DAY.isoformat())
    assert [row.symbol for row in rows] == [row["symbol"] for row in truth.dashboard(["BTC", "ETH"], DAY)]
    assert rows[1].date == DAY and rows[1].price == btc["Close"] and rows[1].market_cap == btc["Marketcap"]
    assert rows[1].change_24h == pytest.approx(truth.change("BTC", DAY, 1))
    # A documented empty answer: no row on a day before any record (204, no body).
    empty = dashboard.sync_detailed(client=client, id="btc", date="1990-01-01")
    assert empty.status_code == 204 and empty.parsed is None
    # Conditional request: the ETag answers 304 through the generated header parameter.
    first = dashboard.sync_detailed(client=client, id="btc", date=DAY.isoformat())
    again = dashboard.sync_detailed(client=client, id="btc", date=DAY.isoformat(), if_none_match=first.headers["ETag"])
    assert again.status_code == 304 and again.parsed is None

    found = api(package, "search.get_api_v1_search").sync(client=client, name="bitcoin")
    assert (found.name, found.symbol) == ("Bitcoin", "BTC")
    missing = api(package, "search.get_api_v1_search").sync_detailed(client=client, name="no such coin")
    assert missing.status_code == 404 and missing.parsed.detail

    catalogue = api(package, "currencies.get_api_v1_currencies").sync_detailed(client=client, q="bitcoin", per_page=1)
    assert [coin.symbol for coin in catalogue.parsed] == ["BTC"] and catalogue.headers["X-Total-Count"] == "2"
    assert catalogue.parsed[0].latest_close == truth.coins["BTC"].days[truth.latest_day]["Close"]
    health = api(package, "operations.get_health").sync(client=client)
    assert health.status == package.models.HealthStatus.OK

    history = api(package, "currencies.get_api_v1_currencies_symbol_history")
    candles = history.sync("btc", client=client, start="2021-07-05", end=DAY.isoformat())
    assert [c.period_start for c in candles] == [date(2021, 7, 5), DAY]
    assert (candles[1].open_, candles[1].high, candles[1].low, candles[1].close) == (
        btc["Open"],
        btc["High"],
        btc["Low"],
        btc["Close"],
    )
    # CSV: openapi-python-client parses one media type per status (the first, JSON), so the CSV
    # variant is sent with the generated request builder and read as text.
    csv_format = package.models.GetApiV1CurrenciesSymbolHistoryFormat("csv")
    request = history._get_kwargs("btc", start="2021-07-05", end=DAY.isoformat(), format_=csv_format)
    response = client.get_httpx_client().request(**request)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["period_start"] for row in table] == ["2021-07-05", DAY.isoformat()]
    assert float(table[1]["close"]) == btc["Close"]

    bad = history.sync_detailed("btc", client=client, start=DAY.isoformat(), end="2021-07-05")
    assert bad.status_code == 400 and "start" in bad.parsed.errors.additional_properties


def test_writes_with_a_token_through_the_generated_client(generated):
    package, base_url = generated
    models = package.models
    basic = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    login = package.AuthenticatedClient(base_url=base_url, token=basic, prefix="Basic")
    token = api(package, "tokens.post_api_v1_tokens").sync(client=login)
    assert token.token_type == models.NewTokenTokenType.BEARER and token.token
    client = package.AuthenticatedClient(base_url=base_url, token=token.token)

    created = api(package, "currencies.post_api_v1_currencies").sync_detailed(
        client=client, body=models.NewCurrency(name="Generated coin", symbol="gen")
    )
    assert created.status_code == 201 and created.parsed.symbol == "GEN" and created.parsed.first_day is None
    assert created.headers["Location"].endswith("/api/v1/currencies/GEN")

    candle = models.NewCandle(date=DAY, open_=2.0, high=3.0, low=1.0, close=2.5, volume=None, market_cap=10.0)
    stored = api(package, "currencies.put_api_v1_currencies_symbol_records").sync("gen", client=client, body=[candle])
    assert (stored.symbol, stored.upserted, stored.first_day, stored.last_day) == ("GEN", 1, DAY, DAY)
    renamed = api(package, "currencies.put_api_v1_currencies_symbol").sync(
        "gen", client=client, body=models.CurrencyRename(name="Renamed coin", symbol="GEN")
    )
    assert (renamed.name, renamed.last_day, renamed.latest_close) == ("Renamed coin", DAY, 2.5)
    detail = api(package, "currencies.get_api_v1_currencies_symbol").sync("gen", client=client)
    assert detail.latest_market_cap == 10.0

    deleted = api(package, "currencies.delete_api_v1_currencies_symbol_records").sync(
        "gen", client=client, start=DAY.isoformat(), end=DAY.isoformat()
    )
    assert (deleted.symbol, deleted.deleted) == ("GEN", 1)
    gone = api(package, "currencies.delete_api_v1_currencies_symbol").sync_detailed("gen", client=client)
    assert gone.status_code == 204 and gone.content == b""

    revoked = api(package, "tokens.delete_api_v1_tokens").sync_detailed(client=client)
    assert revoked.status_code == 204
    refused = api(package, "currencies.post_api_v1_currencies").sync_detailed(
        client=client, body=models.NewCurrency(name="Late coin", symbol="LATE")
    )
    assert refused.status_code == 401 and refused.parsed.detail
