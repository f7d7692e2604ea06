"""Figures as people read them on the page: compact dollars, signed percentages, "no data".

Only the page uses these; the API and CSV keep full float precision. The exact value of a
compacted figure goes into the cell's `title` (a tooltip), written out in plain decimals.
"""

from __future__ import annotations

import math
from decimal import Decimal

NO_DATA = "no data"
# Largest first: the first unit a value reaches names it ($641.9B, $26.5M).
UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"))
TICK_UNITS = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))


def compact_usd(value: float | None) -> str:
    """$641.9B, $26.5M, $34,235.19, $0.6654: one decimal past a million, 4 significant digits below $1."""
    if value is None:
        return NO_DATA
    sign, size = ("-" if value < 0 else ""), abs(value)
    for index, (unit, suffix) in enumerate(UNITS):
        if size >= unit:
            scaled = round(size / unit, 1)
            if scaled >= 1000 and index > 0:  # 999.96M rounds to 1000.0M: say $1.0B instead
                unit, suffix = UNITS[index - 1]
                scaled = round(size / unit, 1)
            return f"{sign}${scaled:,.1f}{suffix}"
    if size >= 1 or size == 0:
        return f"{sign}${size:,.2f}"
    decimals = 3 - math.floor(math.log10(size))  # four significant digits, never an exponent
    return f"{sign}${size:.{decimals}f}"


def measured_usd(value: float | None) -> str:
    """A volume or market cap: the CSVs store 0 where the figure is unknown, so 0 is "no data"."""
    return NO_DATA if not value else compact_usd(value)


def exact_usd(value: float | None) -> str:
    """The stored value in plain decimals with thousands separators (a tooltip), never rounded."""
    if value is None:
        return NO_DATA
    text = f"{Decimal(repr(float(value))):,f}"
    text = text[:-2] if text.endswith(".0") else text
    return f"-${text[1:]}" if text.startswith("-") else f"${text}"


def signed_percent(value: float | None) -> str:
    """+1.45%, -0.06%: a sign and two decimals; "no data" where there is no earlier close."""
    return NO_DATA if value is None else f"{value:+.2f}%"


def tick_label(value: float, step: float) -> str:
    """An axis value with just the decimals its step needs: $30K, $1.2K, $800, $0.25, $0.0002."""
    if value == 0:
        return "$0"
    unit, suffix = 1.0, ""
    for size, name in TICK_UNITS:
        if abs(step) >= size or abs(value) >= size:  # short labels: a phone draws them large
            unit, suffix = size, name
            break
    scaled_step = f"{step / unit:.10f}".rstrip("0")
    decimals = len(scaled_step.split(".")[1]) if "." in scaled_step else 0
    return f"${value / unit:,.{decimals}f}{suffix}"
