"""`openpss attendance` commands: evaluate terminal rules on punches; platform month reports."""

from __future__ import annotations

import csv
import enum
import json
import sys
from pathlib import Path
from typing import IO

import typer

from openpss.attendance.bulk import evaluate_rules
from openpss.attendance.files import (
    TABLE_COLUMNS,
    InputError,
    parse_punches,
    parse_rules,
    result_to_dict,
    result_to_row,
)
from openpss.attendance.terminal import DayResult

app = typer.Typer(help="attendance commands", no_args_is_help=True)


class OutputFormat(enum.StrEnum):
    """Output formats of `evaluate`."""

    json = "json"
    csv = "csv"
    xlsx = "xlsx"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise InputError([f"{path}: not UTF-8 text"]) from None


def _write_json(results: list[DayResult], out: IO[str]) -> None:
    json.dump([result_to_dict(r) for r in results], out, indent=2)
    out.write("\n")


def _write_csv(results: list[DayResult], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(TABLE_COLUMNS)
    writer.writerows(result_to_row(r) for r in results)


def write_xlsx(path: Path, header: list[str], rows: object) -> None:
    """Stream rows into a one-sheet workbook (openpyxl write-only mode)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("attendance")
    sheet.append(header)
    for row in rows:  # type: ignore[attr-defined]
        sheet.append(row)
    book.save(path)


@app.command("evaluate")
def evaluate_command(
    rules_file: Path = typer.Argument(
        ..., metavar="RULES.json", help="shifts, schedules, allowances"
    ),
    punches_file: Path = typer.Argument(..., metavar="PUNCHES.csv", help="user_id,time rows"),
    output_format: OutputFormat = typer.Option(OutputFormat.json, "--format", help="output format"),
    output: Path | None = typer.Option(None, "--output", help="file to write (default: stdout)"),
) -> None:
    """Evaluate punches against terminal rules: one result per scheduled (user, day)."""
    try:
        rules = parse_rules(_read(rules_file), str(rules_file))
        punches = parse_punches(_read(punches_file), str(punches_file))
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2) from None
    results = evaluate_rules(rules, punches)
    if output_format is OutputFormat.xlsx:
        if output is None:
            typer.echo("error: --format xlsx needs --output FILE", err=True)
            raise typer.Exit(2)
        write_xlsx(output, TABLE_COLUMNS, (result_to_row(r) for r in results))
        return
    writer = _write_json if output_format is OutputFormat.json else _write_csv
    if output is None:
        writer(results, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as out:
        writer(results, out)


class ReportKind(enum.StrEnum):
    """Monthly attendance report (totals per person) or record (each day's punches)."""

    report = "report"
    record = "record"


class ReportFormat(enum.StrEnum):
    """File formats of platform reports."""

    csv = "csv"
    xlsx = "xlsx"


@app.command("report")
def report_command(
    year: int = typer.Option(..., min=1970, max=9999, help="year of the month"),
    month: int = typer.Option(..., min=1, max=12, help="month 1-12"),
    output: Path = typer.Option(..., "--output", help="file to write"),
    kind: ReportKind = typer.Option(ReportKind.report, "--kind", help="report or record"),
    output_format: ReportFormat = typer.Option(ReportFormat.xlsx, "--format"),
    department_id: int | None = typer.Option(None, help="only this department's persons"),
    compute_first: bool = typer.Option(
        True, "--compute/--no-compute", help="compute the month's results before exporting"
    ),
) -> None:
    """Export a platform month (OPENPSS_* settings pick the database), with progress."""
    from rich.progress import Progress

    from openpss.platform.attendance import compute, reports
    from openpss.platform.db import make_engine, make_session_factory, session_scope
    from openpss.platform.settings import get_settings

    engine = make_engine(get_settings().resolved_database_url)
    try:
        start, end = reports.month_bounds(year, month)
        with Progress() as bar, session_scope(make_session_factory(engine)) as session:
            if compute_first:
                task = bar.add_task("computing results", total=None)
                compute.compute_range(
                    session=session,
                    start=start,
                    end=end,
                    progress=lambda done, total: bar.update(task, completed=done, total=total),
                )
            task = bar.add_task(f"writing {kind.value}", total=None)
            producer = reports.report_rows if kind is ReportKind.report else reports.record_rows
            rows = producer(
                session=session,
                year=year,
                month=month,
                department_id=department_id,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
            if output_format is ReportFormat.xlsx:
                reports.write_xlsx(rows, output, f"{kind.value} {year}-{month:02d}")
            else:
                reports.write_csv(rows, output)
    finally:
        engine.dispose()
    typer.echo(f"wrote {output}")
