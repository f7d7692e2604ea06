"""`flask data report`: per currency, the stored range, missing days, lineage and suspicious candles."""

from __future__ import annotations

import io
import json

import click
from flask import current_app
from flask.cli import with_appcontext

from api.commands.failures import EX_DATAERR, CommandFailure
from api.extensions import db
from utilities.data_report import CoinReport, count_currencies, data_report


@click.group("data")
def data_group() -> None:
    """Inspect the stored data."""


def describe(report: CoinReport, limit: int) -> list[str]:
    """A summary line, then up to `limit` examples of each finding."""
    span = f"{report.first_day} .. {report.last_day}" if report.stored_days else "no records"
    sources = ", ".join(f"{source} {count}" for source, count in sorted(report.by_source.items())) or "-"
    lines = [
        f"{report.symbol:<6} {span:<24} {report.stored_days:>5} days  missing {report.missing_days:>4}  "
        f"sources: {sources}  estimated market caps {report.estimated_market_caps}, volumes "
        f"{report.estimated_volumes}  suspicious {report.suspicious}"
    ]

    def listed(label: str, items: list) -> None:
        if items:
            more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
            lines.append(f"       {label} ({len(items)}): {', '.join(map(str, items[:limit]))}{more}")

    listed("gaps", report.gaps)
    listed("close moves", [f"{day} {move:+.1f} %" for day, move in report.big_moves])
    listed("zero volume", [day.isoformat() for day in report.zero_volume])
    return lines


def as_json(report: CoinReport) -> dict:
    return {
        "symbol": report.symbol,
        "name": report.name,
        "first_day": report.first_day.isoformat() if report.first_day else None,
        "last_day": report.last_day.isoformat() if report.last_day else None,
        "stored_days": report.stored_days,
        "missing_days": report.missing_days,
        "gaps": [{"first": gap.first.isoformat(), "last": gap.last.isoformat()} for gap in report.gaps],
        "days_by_source": dict(report.by_source),
        "estimated_market_caps": report.estimated_market_caps,
        "estimated_volumes": report.estimated_volumes,
        "close_moves": [{"date": day.isoformat(), "percent": move} for day, move in report.big_moves],
        "zero_volume": [day.isoformat() for day in report.zero_volume],
    }


@data_group.command("report")
@click.option("--symbols", default="", help="Comma-separated symbols (default: every currency).")
@click.option(
    "--move-percent",
    type=click.FloatRange(min=0),
    default=None,
    help="A daily close move above this percentage is suspicious (default: SUSPICIOUS_MOVE_PERCENT).",
)
@click.option("--limit", type=click.IntRange(min=0), default=5, show_default=True, help="Examples listed per finding.")
@click.option("--json", "as_json_lines", is_flag=True, help="One JSON object per currency instead of text.")
@click.option("--progress/--no-progress", default=True, help="Progress bar on stderr.")
@with_appcontext
def report_command(symbols: str, move_percent: float | None, limit: int, as_json_lines: bool, progress: bool) -> None:
    """First and last day, missing days, days by source and suspicious candles of each currency."""
    chosen = list(dict.fromkeys(symbol.strip().upper() for symbol in symbols.split(",") if symbol.strip())) or None
    threshold = current_app.config["SUSPICIOUS_MOVE_PERCENT"] if move_percent is None else move_percent
    total = count_currencies(db.engine, chosen)
    reports = []
    bar_file = None if progress else io.StringIO()
    with click.progressbar(length=total, label="Checking currencies", file=bar_file) as bar:
        for report in data_report(db.engine, threshold, chosen, on_coin=lambda: bar.update(1)):
            reports.append(report)
    unknown = [symbol for symbol in chosen or () if symbol not in {report.symbol for report in reports}]
    if unknown:  # a typo must not pass for "no findings"
        raise CommandFailure(
            f"unknown symbol(s): {', '.join(unknown)} (no such currency is stored; "
            "`flask data report` without --symbols lists every one)",
            EX_DATAERR,
        )
    if as_json_lines:
        for report in reports:
            click.echo(json.dumps(as_json(report)))
        return
    records = sum(report.stored_days for report in reports)
    click.echo(
        f"{len(reports)} currencies, {records} records; suspicious: close moves above {threshold:g} % "
        "from the previous stored day, zero volumes"
    )
    for report in reports:
        for line in describe(report, limit):
            click.echo(line)
    click.echo(
        f"Total: {sum(r.missing_days for r in reports)} missing days in {sum(len(r.gaps) for r in reports)} gaps, "
        f"{sum(len(r.big_moves) for r in reports)} close moves, {sum(len(r.zero_volume) for r in reports)} "
        "zero-volume days"
    )
