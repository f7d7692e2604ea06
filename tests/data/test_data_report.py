"""`flask data report` on the bundled CSVs, checked against figures computed from the CSV files."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

from tests.support.truth import CsvTruth


def reports(app, *args: str) -> dict[str, dict]:
    result = app.test_cli_runner().invoke(args=["data", "report", "--json", "--no-progress", *args])
    assert result.exit_code == 0, result.output
    return {row["symbol"]: row for row in map(json.loads, result.output.splitlines())}


def test_report_finds_the_gaps_and_suspicious_candles_of_the_csvs(app, truth: CsvTruth):
    found = reports(app, "--move-percent", "50")
    assert set(found) == set(truth.coins)
    for symbol, coin in truth.coins.items():
        days = sorted(coin.days)
        missing = [days[0] + timedelta(n) for n in range((days[-1] - days[0]).days + 1)]
        missing = [day for day in missing if day not in coin.days]
        moves = [
            later
            for earlier, later in itertools.pairwise(days)
            if coin.days[earlier]["Close"]
            and abs(coin.days[later]["Close"] / coin.days[earlier]["Close"] - 1) * 100 > 50
        ]
        row = found[symbol]
        assert (row["first_day"], row["last_day"]) == (days[0].isoformat(), days[-1].isoformat())
        assert row["stored_days"] == len(days) and row["days_by_source"] == {"csv": len(days)}
        assert row["missing_days"] == len(missing), symbol
        assert [c["date"] for c in row["close_moves"]] == [day.isoformat() for day in moves], symbol
        assert row["zero_volume"] == [day.isoformat() for day in days if coin.days[day]["Volume"] == 0], symbol
        assert row["estimated_market_caps"] == row["estimated_volumes"] == 0
    assert found["XMR"]["gaps"] == [{"first": "2014-06-05", "last": "2014-06-05"}]
    assert found["USDT"]["missing_days"] == 5


def test_text_report_with_a_threshold_and_symbols(app):
    result = app.test_cli_runner().invoke(
        args=["data", "report", "--symbols", "xmr,usdt", "--move-percent", "1000", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("2 currencies, 4920 records; suspicious: close moves above 1000 %")
    assert any(line.startswith("XMR ") and "missing    1" in line for line in lines)
    assert "       gaps (1): 2014-06-05" in lines
    assert lines[-1] == "Total: 6 missing days in 3 gaps, 0 close moves, 0 zero-volume days"


def test_metrics_expose_the_age_of_the_data(seeded_database_url):
    from datetime import UTC, date, datetime

    from tests.support.apps import make_app

    app = make_app(seeded_database_url, TESTING=False)
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert "# TYPE crypto_api_data_age_days gauge" in text
    (line,) = [line for line in text.splitlines() if line.startswith("crypto_api_data_age_days ")]
    assert float(line.split()[1]) == (datetime.now(UTC).date() - date(2021, 7, 6)).days
