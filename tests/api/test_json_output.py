"""JSON and CSV bodies: the fast encoders write exactly the bytes the standard library would."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import math
import random
import struct

import pytest
from flask import Flask

from api.json_provider import FastJSONProvider


def standard(value: object, app: Flask) -> str:
    """What Flask's default provider wrote for a compact response body."""
    return json.dumps(value, default=app.json.default, ensure_ascii=True, separators=(",", ":"))


@pytest.fixture
def provider_app() -> Flask:
    app = Flask(__name__)
    app.json = FastJSONProvider(app)
    return app


def random_floats(count: int) -> list[float]:
    """Floats over every magnitude (bit patterns) and short decimals over 1e-12..1e22."""
    rng = random.Random(17)
    values = []
    while len(values) < count:
        bits = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        if math.isfinite(bits):
            values.append(bits)
        short = float(f"{10 ** rng.uniform(-12, 22):.{rng.randint(1, 17)}g}")
        values.append(-short if rng.random() < 0.5 else short)
    return values


def test_floats_are_written_as_python_writes_them(provider_app):
    values = [*random_floats(20_000), 1e-05, 9.999e-05, 0.0001, 1e16, 1e15, 5e-324, -0.0, 0.0, 100.00001]
    assert provider_app.json.dumps(values, separators=(",", ":")) == standard(values, provider_app)
    assert provider_app.json.dumps({"price": 8.5e-05}, separators=(",", ":")) == '{"price":8.5e-05}'


@pytest.mark.parametrize(
    "value",
    [
        {"name": "Caf\u00e9 coin", "symbol": "\u20bf"},  # non-ASCII: \u escapes, as before
        {"text": 'quote " backslash \\ newline \n nul \x00 separator \u2028'},
        {"big": 2**70, "negative": -(2**64)},  # beyond orjson's 64 bits
        {1: "integer key", "nested": [{"day": datetime.date(2021, 7, 6)}]},  # Flask writes HTTP dates
        {"decimal": decimal.Decimal("1.50"), "when": datetime.datetime(2021, 7, 6, 12, 30)},
        {"order": 1, "kept": 2, "as": 3, "written": 4, "small": [1e-7, {"deep": -3.2e-06}]},
        [True, False, None, 0, -1, 1.5, "e-mail", "0.00001"],
    ],
)
def test_other_values_are_written_as_before(provider_app, value):
    assert provider_app.json.dumps(value, separators=(",", ":")) == standard(value, provider_app)


def test_jsonify_and_non_compact_dumps_are_unchanged(provider_app):
    with provider_app.app_context():
        assert provider_app.json.response({"a": 1e-05, "b": "\u00e9"}).get_data() == b'{"a":1e-05,"b":"\\u00e9"}\n'
    assert provider_app.json.dumps({"a": [1, 2]}) == '{"a": [1, 2]}'


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/currencies/doge/history?start=2015-04-20&end=2015-05-20",  # closes below 1e-4
        "/api/v1/currencies/xem/history?start=2015-08-01&end=2015-12-31&interval=1w",
        "/api/v1/currencies/btc/history?start=2011-07-06&end=2021-07-06",
        "/api/v1/dashboard?id=all&date=2015-05-01",
        "/api/v1/currencies",
        "/api/v1/search?name=bitcoin",
    ],
)
def test_response_bodies_are_the_standard_librarys_bytes(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert body == json.dumps(json.loads(body), separators=(",", ":"))


def test_small_prices_keep_python_notation(client):
    body = client.get("/api/v1/currencies/doge/history?start=2015-04-26&end=2015-04-26").get_data(as_text=True)
    candle = json.loads(body)[0]
    assert candle["low"] < 1e-4
    assert f'"low":{candle["low"]!r}' in body and "e-05" in body


def test_csv_is_what_the_dict_writer_wrote(client):
    path = "/api/v1/currencies/doge/history?start=2015-01-01&end=2015-12-31"
    candles = json.loads(client.get(path).data)
    text = client.get(path, headers={"Accept": "text/csv"}).get_data(as_text=True)
    expected = io.StringIO()
    writer = csv.DictWriter(expected, fieldnames=list(candles[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(candles)
    assert text == expected.getvalue()
