"""Write small coin CSVs in the bundled files' format, for tests that need their own data."""

from __future__ import annotations

from pathlib import Path

HEADER = "SNo,Name,Symbol,Date,High,Low,Open,Close,Volume,Marketcap\n"


def write_coin_csv(path: Path, name: str, symbol: str, closes: list[tuple[str, float]]) -> Path:
    """One row per (day, close); the other prices equal the close, volume 10, market cap 1000."""
    lines = [HEADER]
    for number, (day, close) in enumerate(closes, start=1):
        lines.append(f"{number},{name},{symbol},{day} 23:59:59,{close},{close},{close},{close},10,1000\n")
    path.write_text("".join(lines))
    return path
