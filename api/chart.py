"""A candlestick chart with volume bars below, as SVG geometry computed on the server.

No chart library and no script: the page's template draws one `<path>` per candle (wick and
body in one element) and one `<rect>` per volume bar from the numbers here. Coordinates are in
the SVG's own units (a `width` x `height` viewBox) so the chart scales with its container.
Axis ticks are round numbers (1, 2, 2.5 or 5 times a power of ten) and calendar dates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from api.page_format import compact_usd, tick_label
from utilities.value_bounds import MAX_PRICE, MAX_VOLUME

WIDTH, HEIGHT = 720, 360
LEFT, RIGHT = 6, 636  # the plot's x range; the price labels sit right of it
PRICE_TOP, PRICE_BOTTOM = 10, 246
VOLUME_TOP, VOLUME_BOTTOM = 262, 324
DAY_LABEL_Y = 348
MAX_PRICE_TICKS = 6
MAX_DAY_TICKS = 6
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Tick:
    """A round value on an axis: its position (SVG units) and its label."""

    position: float
    label: str


@dataclass(frozen=True)
class CandleMark:
    """One candle's drawing: `d` is its wick and body as one path; `rising` when close >= open."""

    day: str
    d: str
    rising: bool


@dataclass(frozen=True)
class VolumeBar:
    """One period's volume as a bar rising from the volume panel's floor."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class CandleChart:
    """Everything the template draws, with the range it covers (`first_day`..`last_day`)."""

    width: int
    height: int
    candles: list[CandleMark]
    volumes: list[VolumeBar]
    price_ticks: list[Tick]
    day_ticks: list[Tick]
    volume_top_label: str
    first_day: str
    last_day: str
    period_days: int
    left: int = LEFT
    right: int = RIGHT
    price_top: int = PRICE_TOP
    price_bottom: int = PRICE_BOTTOM
    volume_top: int = VOLUME_TOP
    volume_bottom: int = VOLUME_BOTTOM
    day_label_y: int = DAY_LABEL_Y


def nice_step(span: float, max_ticks: int) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k that cuts `span` into at most `max_ticks` steps."""
    rough = span / max_ticks
    magnitude = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= rough:
            return factor * magnitude
    return 10 * magnitude


def price_ticks(low: float, high: float, max_ticks: int = MAX_PRICE_TICKS) -> tuple[float, float, float, list[float]]:
    """The axis domain (low..high padded by 4%), its tick step and the round values inside it."""
    span = high - low
    if span <= 0:  # one candle, or a flat price: a band around it
        span = abs(high) * 0.1 or 1.0
        low, high = low - span / 2, high + span / 2
    else:
        low, high = low - span * 0.04, high + span * 0.04
    step = nice_step(high - low, max_ticks)
    first = math.ceil(low / step)
    values = []
    k = first
    while k * step <= high:
        values.append(k * step)
        k += 1
    return low, high, step, values


def day_ticks(first: date, last: date, max_ticks: int = MAX_DAY_TICKS) -> list[tuple[date, str]]:
    """Calendar ticks between two days: weeks (Mondays), months, or years, at most `max_ticks`."""
    span = (last - first).days + 1
    for weeks in (1, 2):
        if span / (7 * weeks) <= max_ticks:
            monday = first + timedelta(days=(7 - first.weekday()) % 7)
            days = [monday + timedelta(weeks=weeks * i) for i in range(max_ticks + 1)]
            return [(day, f"{MONTH_NAMES[day.month - 1]} {day.day}") for day in days if day <= last]
    for months in (1, 2, 3, 6, 12, 24, 60):
        if span / (30.44 * months) <= max_ticks:
            break
    ticks = []
    year, month = first.year, first.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = date(year, month, 1)
        if day > last:
            return ticks
        if (year * 12 + month - 1) % months:
            continue
        ticks.append((day, str(year) if months >= 12 else f"{MONTH_NAMES[month - 1]} {year}"))


def _drawable(candle: dict) -> bool:
    prices = (candle["open"], candle["high"], candle["low"], candle["close"])
    volume = candle["volume"]
    return (
        None not in prices
        and all(0 <= price <= MAX_PRICE for price in prices)
        and (volume is None or 0 <= volume <= MAX_VOLUME)
    )


def candle_chart(candles: list[dict], period_days: int = 1) -> CandleChart | None:
    """History candles (oldest first, `period_start` ISO days) as a chart; None when none is drawable.

    `period_days` is 1 for daily candles and 7 for weekly ones: a candle spans its period on the
    time axis, so missing days show as gaps rather than being closed up.
    """
    # A candle outside the documented bounds (a row stored before they existed, docs/limits.md)
    # cannot be drawn on one axis with the others: it is left out, as a missing day is.
    drawable = [candle for candle in candles if _drawable(candle)]
    if not drawable:
        return None
    first = date.fromisoformat(drawable[0]["period_start"])
    last = date.fromisoformat(drawable[-1]["period_start"])
    total_days = (last - first).days + period_days
    day_width = (RIGHT - LEFT) / total_days
    low, high, step, price_values = price_ticks(min(c["low"] for c in drawable), max(c["high"] for c in drawable))

    def price_y(price: float) -> float:
        return PRICE_TOP + (high - price) / (high - low) * (PRICE_BOTTOM - PRICE_TOP)

    body_width = max(day_width * period_days * 0.7, 0.6)
    top_volume = max((c["volume"] or 0 for c in drawable), default=0)
    marks, bars = [], []
    for candle in drawable:
        offset = (date.fromisoformat(candle["period_start"]) - first).days
        centre = LEFT + (offset + period_days / 2) * day_width
        body_top = price_y(max(candle["open"], candle["close"]))
        body_height = max(price_y(min(candle["open"], candle["close"])) - body_top, 0.5)
        path = (
            f"M{centre:.1f},{price_y(candle['high']):.1f}V{price_y(candle['low']):.1f}"
            f"M{centre - body_width / 2:.2f},{body_top:.1f}h{body_width:.2f}v{body_height:.1f}h{-body_width:.2f}z"
        )
        marks.append(CandleMark(candle["period_start"], path, candle["close"] >= candle["open"]))
        if candle["volume"] and top_volume > 0:  # no bar where the data has no volume (None or 0)
            bar_height = max(candle["volume"] / top_volume * (VOLUME_BOTTOM - VOLUME_TOP), 0.5)
            x, y = round(centre - body_width / 2, 2), round(VOLUME_BOTTOM - bar_height, 1)
            bars.append(VolumeBar(x, y, round(body_width, 2), round(bar_height, 1)))
    ticks = [Tick(round(price_y(value), 1), tick_label(value, step)) for value in price_values]
    dates = [
        Tick(round(LEFT + ((day - first).days + period_days / 2) * day_width, 1), label)
        for day, label in day_ticks(first, last + timedelta(days=period_days - 1))
    ]
    dates = [tick for tick in dates if LEFT + 24 <= tick.position <= RIGHT - 24]  # labels stay inside
    return CandleChart(
        width=WIDTH,
        height=HEIGHT,
        candles=marks,
        volumes=bars,
        price_ticks=ticks,
        day_ticks=dates,
        volume_top_label=compact_usd(top_volume) if top_volume else "no volume data",
        first_day=drawable[0]["period_start"],
        last_day=drawable[-1]["period_start"],
        period_days=period_days,
    )
