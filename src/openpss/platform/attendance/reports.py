"""Monthly attendance record and report (rows streamed in batches), department chart (SVG)."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from openpss.platform import xlsx
from openpss.platform.attendance.compute import PersonRow, Progress, load_persons, refresh
from openpss.platform.attendance.models import AttendanceResult
from openpss.platform.errors import Invalid
from openpss.platform.people.models import Department

BATCH = 1000
REPORT_COLUMNS = [
    "user_id",
    "name",
    "department",
    "days_due",
    "days_attended",
    "late_count",
    "late_minutes",
    "early_count",
    "early_minutes",
    "absence_days",
    "leave_days",
    "trip_days",
    "work_hours",
    "overtime_hours",
]
ATTENDED = ("normal", "abnormal")
# Column headings people read (console and xlsx), in the manuals' words: SmartPSS Lite "User ID",
# "Name", "Department"; attendance rules 2.15 (late, early leave, 0.5 day absence per period);
# working hours 2.16 ("Actual Working Hours", "Overtime Working Hours"); schedule codes 25 business
# trip / 26 leave. CSV keeps the field names above (a machine format for scripts).
HEADINGS = {
    "user_id": "User ID",
    "name": "Name",
    "department": "Department",
    "days_due": "Required Attendance (days)",
    "days_attended": "Actual Attendance (days)",
    "late_count": "Late (times)",
    "late_minutes": "Late (min)",
    "early_count": "Early Leave (times)",
    "early_minutes": "Early Leave (min)",
    "absence_days": "Absence (days)",
    "leave_days": "Leave (days)",
    "trip_days": "Business Trip (days)",
    "work_hours": "Actual Working Hours",
    "overtime_hours": "Overtime Working Hours",
}


def headings(header: list[Any]) -> list[Any]:
    """The header row in the manual's column names (dates and unknown names unchanged)."""
    return [HEADINGS.get(name, name) if isinstance(name, str) else name for name in header]


def month_bounds(year: int, month: int) -> tuple[dt.date, dt.date]:
    """First and last day of a month."""
    if not 1 <= month <= 12 or not 1970 <= year <= 9999:
        raise Invalid(f"{year}-{month:02d} is not a month (1-12 of 1970-9999)")
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _persons(
    session: Session, department_id: int | None, month: tuple[dt.date, dt.date]
) -> list[PersonRow]:
    """The persons of the report, their results of the month brought up to date first."""
    persons = load_persons(session)
    if department_id is not None:
        persons = [p for p in persons if p.department_id == department_id]
    refresh(session, *month, None if department_id is None else [p.id for p in persons])
    return persons


def _department_names(session: Session) -> dict[int, str]:
    return dict(session.execute(select(Department.id, Department.name)).all())


def _sums(session: Session, ids: list[int], start: dt.date, end: dt.date) -> dict[int, Any]:
    def count(*statuses: str) -> Any:
        return func.sum(case((AttendanceResult.status.in_(statuses), 1), else_=0))

    r = AttendanceResult
    query = (
        select(
            r.person_id,
            func.sum(case((r.due_minutes > 0, 1), else_=0)),
            count(*ATTENDED),
            func.sum(r.late_count),
            func.sum(r.late_minutes),
            func.sum(r.early_count),
            func.sum(r.early_minutes),
            func.sum(r.absence_days),
            count("leave"),
            count("business_trip"),
            func.sum(r.work_minutes),
            func.sum(r.overtime_minutes),
        )
        .where(r.person_id.in_(ids), r.day >= start, r.day <= end)
        .group_by(r.person_id)
    )
    return {row[0]: row[1:] for row in session.execute(query)}


def report_rows(
    *,
    session: Session,
    year: int,
    month: int,
    department_id: int | None = None,
    progress: Progress | None = None,
) -> Iterator[list[Any]]:
    """The monthly attendance report, one row per person (header first)."""
    start, end = month_bounds(year, month)
    persons = _persons(session, department_id, (start, end))
    departments = _department_names(session)
    yield list(REPORT_COLUMNS)
    for offset in range(0, len(persons), BATCH):
        batch = persons[offset : offset + BATCH]
        sums = _sums(session, [p.id for p in batch], start, end)
        for person in batch:
            values = [int(v or 0) for v in sums.get(person.id, (0,) * 11)]
            absence = float(sums[person.id][6] or 0) if person.id in sums else 0.0
            yield [
                person.user_id,
                person.name,
                departments.get(person.department_id or 0, ""),
                *values[:6],
                round(absence, 3),
                values[7],
                values[8],
                round(values[9] / 60, 1),
                round(values[10] / 60, 1),
            ]
        if progress:
            progress(min(offset + BATCH, len(persons)), len(persons))


def record_rows(
    *,
    session: Session,
    year: int,
    month: int,
    department_id: int | None = None,
    progress: Progress | None = None,
) -> Iterator[list[Any]]:
    """The monthly attendance record: each person's punches on each day of the month."""
    start, end = month_bounds(year, month)
    persons = _persons(session, department_id, (start, end))
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    yield ["user_id", "name", *(d.isoformat() for d in days)]
    for offset in range(0, len(persons), BATCH):
        batch = persons[offset : offset + BATCH]
        query = select(AttendanceResult.person_id, AttendanceResult.day, AttendanceResult.punches)
        query = query.where(
            AttendanceResult.person_id.in_([p.id for p in batch]),
            AttendanceResult.day >= start,
            AttendanceResult.day <= end,
        )
        punches: dict[tuple[int, dt.date], list[str]] = {}
        for pid, day, times in session.execute(query):
            punches[(pid, day)] = times
        for person in batch:
            cells = [" ".join(punches.get((person.id, d), [])) for d in days]
            yield [person.user_id, person.name, *cells]
        if progress:
            progress(min(offset + BATCH, len(persons)), len(persons))


def csv_chunks(rows: Iterator[list[Any]]) -> Iterator[str]:
    """CSV text in chunks of about 64 KiB, for streaming responses."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(rows: Iterator[list[Any]], path: Path, title: str) -> None:
    """Write rows to a workbook with openpyxl's write-only (streaming) mode; the header row in
    the manual's column names."""
    header = next(rows, None)
    xlsx.write_xlsx(path, title, rows, headings(header) if header is not None else ())


def write_csv(rows: Iterator[list[Any]], path: Path) -> None:
    """Write rows to a CSV file."""
    with path.open("w", encoding="utf-8", newline="") as out:
        for chunk in csv_chunks(rows):
            out.write(chunk)


@dataclass(frozen=True)
class ChartDay:
    """Late persons and absence days of one department on one day."""

    day: dt.date
    late: int
    absence: float


def department_chart(
    *, session: Session, year: int, month: int, department_id: int | None = None
) -> list[ChartDay]:
    """Per day of the month: persons late and absence days (of one department or all)."""
    start, end = month_bounds(year, month)
    persons = {p.id for p in _persons(session, department_id, (start, end))}
    late: dict[dt.date, int] = defaultdict(int)
    absence: dict[dt.date, float] = defaultdict(float)
    query = select(
        AttendanceResult.person_id,
        AttendanceResult.day,
        AttendanceResult.late_count,
        AttendanceResult.absence_days,
    ).where(AttendanceResult.day >= start, AttendanceResult.day <= end)
    for pid, day, late_count, absence_days in session.execute(query):
        if pid in persons:
            late[day] += 1 if late_count else 0
            absence[day] += absence_days
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    return [ChartDay(d, late[d], round(absence[d], 3)) for d in days]


CHART_MARGIN = (40, 12, 36, 10)  # left (y axis and its title), top, bottom (x axis), right


def chart_svg(days: list[ChartDay], width: int = 720, height: int = 200) -> str:
    """An inline SVG bar chart with axes: persons late (amber) and absence days (red) per day,
    each non-zero bar labelled with its value."""
    left, top_margin, bottom, right = CHART_MARGIN
    plot_w, plot_h = width - left - right, height
    top = max([d.late for d in days] + [d.absence for d in days] + [1.0])
    slot = plot_w / max(len(days), 1)
    bar = max(slot / 2 - 1, 1)
    base = top_margin + plot_h
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {base + bottom}" '
        f'role="img" aria-label="persons late and absence days per day" '
        f'class="attendance-chart" font-size="9">',
        *_chart_axes(left, top_margin, plot_w, plot_h, top),
    ]
    for i, d in enumerate(days):
        x = left + i * slot
        for offset, value, colour, label in (
            (0, d.late, "#e69f00", "persons late"),
            (bar, d.absence, "#d55e00", "absence days"),
        ):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>{escape(d.day.isoformat())} '
                f"{label}: {value:g}</title></rect>"
            )
            if value:
                parts.append(
                    f'<text x="{x + offset + bar / 2:.1f}" y="{base - h - 2:.1f}" font-size="7" '
                    f'text-anchor="middle" class="bar-value">{value:g}</text>'
                )
        parts.append(
            f'<text x="{x + slot / 2:.1f}" y="{base + 12}" text-anchor="middle">{d.day.day}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _chart_axes(left: int, top: int, plot_w: float, plot_h: int, maximum: float) -> list[str]:
    """Axis lines, y ticks at 0, half and the maximum, and both axis titles."""
    base = top + plot_h
    parts = [
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{base}" stroke="currentColor"/>',
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w:.1f}" y2="{base}" '
        f'stroke="currentColor"/>',
    ]
    for fraction in (0.0, 0.5, 1.0):
        y = base - plot_h * fraction
        parts.append(
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" class="y-tick">'
            f"{maximum * fraction:g}</text>"
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{base + 28}" text-anchor="middle" '
        f'class="x-title">Day of month</text>'
    )
    parts.append(
        f'<text x="10" y="{top + plot_h / 2:.1f}" text-anchor="middle" class="y-title" '
        f'transform="rotate(-90 10 {top + plot_h / 2:.1f})">Persons late / absence days</text>'
    )
    return parts
