"""The page's figures and its candlestick chart, without a browser: round ticks, compact money,
one candle per stored day and one volume bar per day that has a volume (CSV ground truth)."""

from __future__ import annotations

import itertools
import re
from datetime import date, timedelta

import pytest

from api import chart
from api.chart import candle_chart, day_ticks, price_ticks
from api.page_format import compact_usd, exact_usd, measured_usd, signed_percent, tick_label


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (641_899_161_593.76, "$641.9B"),  # BTC's market cap on 2021-07-06
        (26_501_259.87, "$26.5M"),
        (0.66540248, "$0.6654"),  # XRP's close on 2021-07-06: four significant digits
        (34235.19345116, "$34,235.19"),
        (9.83e-05, "$0.00009830"),  # never an exponent
        (999_960_000, "$1.0B"),  # not "$1000.0M"
        (1.5e12, "$1.5T"),
        (None, "no data"),
    ],
)
def test_money_is_compact(value, shown):
    assert compact_usd(value) == shown


def test_exact_values_and_missing_figures():
    assert exact_usd(641_899_161_593.76) == "$641,899,161,593.76"
    assert exact_usd(9.83e-05) == "$0.0000983"  # plain decimals, the stored float's shortest form
    assert exact_usd(26_501_259_870.0) == "$26,501,259,870"
    assert measured_usd(0) == measured_usd(None) == "no data"  # the CSVs store 0 for an unknown volume
    assert measured_usd(26_501_259_870.0) == "$26.5B"
    assert [signed_percent(v) for v in (1.4512, -0.0649, 0.0, None)] == ["+1.45%", "-0.06%", "+0.00%", "no data"]


def test_price_ticks_are_round_and_inside_the_domain():
    low, high, step, values = price_ticks(9132.23, 63503.5)
    assert step == 10_000 and values == [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]
    assert low < 9132.23 and high > 63503.5  # padded: no candle touches the frame
    assert [tick_label(v, step) for v in values] == ["$10K", "$20K", "$30K", "$40K", "$50K", "$60K"]
    low, high, step, values = price_ticks(0.2, 0.7)
    assert step == pytest.approx(0.1) and [tick_label(v, step) for v in values] == [
        "$0.2",
        "$0.3",
        "$0.4",
        "$0.5",
        "$0.6",
        "$0.7",
    ]
    assert tick_label(32_500, 2_500) == "$32.5K" and tick_label(0.0004, 0.0002) == "$0.0004"
    assert [tick_label(v, 200) for v in (0, 800, 1_200)] == ["$0", "$800", "$1.2K"]  # short: phones draw them large
    low, high, step, values = price_ticks(5.0, 5.0)  # a flat price still gets a band and a tick
    assert low < 5.0 < high and 5.0 in values


def test_day_ticks_are_calendar_days():
    year = day_ticks(date(2020, 7, 7), date(2021, 7, 6))
    assert [label for _, label in year] == ["Sep 2020", "Nov 2020", "Jan 2021", "Mar 2021", "May 2021", "Jul 2021"]
    assert all(day.day == 1 for day, _ in year)
    month = day_ticks(date(2021, 6, 7), date(2021, 7, 6))
    assert [label for _, label in month] == ["Jun 7", "Jun 14", "Jun 21", "Jun 28", "Jul 5"]
    assert all(day.weekday() == 0 for day, _ in month)  # Mondays
    years = day_ticks(date(2013, 4, 28), date(2021, 7, 6))
    assert [label for _, label in years] == ["2014", "2016", "2018", "2020"]


def candles_of(truth, symbol: str, first: date, last: date) -> list[dict]:
    """History candles as the API serves them, built from the CSV rows."""
    return [
        {
            "period_start": day.isoformat(),
            "open": row["Open"],
            "high": row["High"],
            "low": row["Low"],
            "close": row["Close"],
            "volume": row["Volume"],
        }
        for day, row in sorted(truth.coins[symbol].days.items())
        if first <= day <= last
    ]


def test_one_candle_per_day_and_a_bar_per_known_volume(truth):
    # 90 days up to 2013-12-29: BTC's CSV volume is 0 (unknown) until 2013-12-27.
    first, last = date(2013, 10, 1), date(2013, 12, 29)
    candles = candles_of(truth, "BTC", first, last)
    drawn = candle_chart(candles)
    assert len(drawn.candles) == len(candles) == 90
    with_volume = [c for c in candles if c["volume"] > 0]
    assert 0 < len(drawn.volumes) == len(with_volume) < len(candles)
    rising = [c["close"] >= c["open"] for c in candles]
    assert [mark.rising for mark in drawn.candles] == rising
    assert (drawn.first_day, drawn.last_day) == ("2013-10-01", "2013-12-29")


def test_candles_and_bars_stay_in_their_panels(truth):
    candles = candles_of(truth, "ETH", date(2020, 7, 7), date(2021, 7, 6))
    drawn = candle_chart(candles)
    wick_ends = [
        (float(top), float(bottom))
        for mark in drawn.candles
        for top, bottom in [re.match(r"M[\d.]+,([\d.]+)V([\d.]+)", mark.d).groups()]
    ]
    assert all(chart.PRICE_TOP <= top < bottom <= chart.PRICE_BOTTOM for top, bottom in wick_ends)
    # The highest high is the highest wick; the largest volume the tallest bar, reaching the panel's top.
    highest = max(range(len(candles)), key=lambda i: candles[i]["high"])
    assert min(wick_ends)[0] == wick_ends[highest][0]
    tallest = max(drawn.volumes, key=lambda bar: bar.height)
    assert tallest.y == pytest.approx(chart.VOLUME_TOP, abs=0.1)
    assert all(
        bar.y >= chart.VOLUME_TOP - 0.1 and bar.y + bar.height <= chart.VOLUME_BOTTOM + 0.1 for bar in drawn.volumes
    )
    assert all(chart.LEFT <= tick.position <= chart.RIGHT for tick in drawn.day_ticks)


def test_missing_days_leave_gaps(truth):
    # Monero has missing days: candles sit at their dates, so a gap stays a gap.
    days = sorted(truth.coins["XMR"].days)
    gap = next(i for i in range(1, len(days)) if days[i] - days[i - 1] > timedelta(days=1))
    candles = candles_of(truth, "XMR", days[gap - 5], days[gap + 5])
    drawn = candle_chart(candles)
    centres = [float(re.match(r"M([\d.]+),", mark.d).group(1)) for mark in drawn.candles]
    steps = [b - a for a, b in itertools.pairwise(centres)]
    assert max(steps) > 1.5 * min(steps)


def test_nothing_to_draw():
    assert candle_chart([]) is None
    assert (
        candle_chart([{"period_start": "2021-01-01", "open": None, "high": 1, "low": 1, "close": 1, "volume": 0}])
        is None
    )
