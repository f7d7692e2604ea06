"""Turn candles into an SVG line chart's geometry on the server (no chart library, no script)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class LineChart:
    """An SVG path of closes scaled into a `width` x `height` box, with its axis labels."""

    path: str
    width: int
    height: int
    low: float
    high: float
    first_day: str
    last_day: str
    points: int


def close_chart(candles: list[dict], width: int = 720, height: int = 240, pad: int = 8) -> LineChart | None:
    """Closes from oldest to newest; None when there is nothing to draw."""
    closes = [(candle["period_start"], candle["close"]) for candle in candles if candle["close"] is not None]
    if not closes:
        return None
    low = min(close for _, close in closes)
    high = max(close for _, close in closes)
    span = (high - low) or 1.0
    step = (width - 2 * pad) / max(len(closes) - 1, 1)
    inner_height = height - 2 * pad
    coordinates = [(pad + i * step, pad + (high - close) / span * inner_height) for i, (_, close) in enumerate(closes)]
    path = "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    return LineChart(path, width, height, low, high, closes[0][0], closes[-1][0], len(closes))
