"""Bulk reads and writes of attendance: punches as arrays in, results out by executemany/COPY.

Both go through the session's DBAPI connection (inside its transaction): building an ORM or
Core row per punch or per person-day costs more than evaluating it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import delete
from sqlalchemy.orm import Session

from openpss.attendance.bulk_periods import IntArray
from openpss.platform.attendance.engine import Month, month_columns
from openpss.platform.attendance.models import AttendanceResult

if TYPE_CHECKING:
    from openpss.platform.attendance.compute import Context, PersonRow

logger = logging.getLogger(__name__)
FETCH = 200_000
BULK_CACHE_KIB = 131_072
SMALL_SUBSET = 500  # persons filtered in SQL up to this many, in NumPy beyond
COLUMNS = (
    "person_id, day, status, due_minutes, work_minutes, overtime_minutes, late_count, "
    "late_minutes, early_count, early_minutes, absence_days, punches, detail, computed_at"
)
# SQLAlchemy's storage format of SQLite DATETIME (naive UTC for UTCDateTime columns).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"
_EPOCH_SQL = {
    "sqlite": "CAST(strftime('%s', r.event_time) AS INTEGER)",
    "postgresql": "CAST(floor(extract(epoch FROM r.event_time)) AS BIGINT)",
}
_PARAM = {"sqlite": "?", "postgresql": "%s"}


def _epoch(at: dt.datetime) -> int:
    return int((at - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)).total_seconds())


def _bind(dialect: str, at: dt.datetime) -> Any:
    return at.replace(tzinfo=None).strftime(SQLITE_DATETIME) if dialect == "sqlite" else at


def load_punches(
    session: Session,
    ctx: Context,
    persons: Sequence[PersonRow],
    bounds: tuple[dt.datetime, dt.datetime],
) -> tuple[IntArray, IntArray]:
    """Successful punches of `persons` in [low, high) UTC: (row in persons, local epoch second)."""
    connection = session.connection()
    dialect = connection.dialect.name
    param = _PARAM.get(dialect, "?")
    cursor = connection.connection.cursor()
    sql = (
        f"SELECT p.id, {_EPOCH_SQL[dialect]} FROM access_record r{_scan(cursor, dialect, bounds)} "
        "JOIN person p ON p.user_id = r.user_id "
        f"WHERE r.event_time >= {param} AND r.event_time < {param} AND r.success"
    )
    if len(persons) <= SMALL_SUBSET:
        sql += f" AND p.id IN ({','.join(str(int(p.id)) for p in persons) or 'NULL'})"
    try:
        cursor.execute(sql, tuple(_bind(dialect, at) for at in bounds))
        chunks = []
        while fetched := cursor.fetchmany(FETCH):
            flat = itertools.chain.from_iterable(fetched)
            chunks.append(np.fromiter(flat, dtype=np.int64, count=2 * len(fetched)))
    finally:
        cursor.close()
    pairs = np.concatenate(chunks).reshape(-1, 2) if chunks else np.zeros((0, 2), dtype=np.int64)
    rows, seconds = _rows_of(persons, pairs[:, 0]), pairs[:, 1]
    inside = rows >= 0
    local = to_local(seconds[inside], ctx.zone, _epoch(bounds[0]), _epoch(bounds[1]))
    return rows[inside], local


def _scan(cursor: Any, dialect: str, bounds: tuple[dt.datetime, dt.datetime]) -> str:
    """SQLite: read the table in order when the range holds much of it (twice as fast as
    following the event_time index row by row); PostgreSQL's planner decides by itself."""
    if dialect != "sqlite":
        return ""
    cursor.execute("SELECT min(event_time), max(event_time) FROM access_record")
    oldest, newest = cursor.fetchone()
    if oldest is None:
        return ""
    stored = dt.datetime.fromisoformat(newest) - dt.datetime.fromisoformat(oldest)
    return " NOT INDEXED" if 3 * (bounds[1] - bounds[0]) >= stored else ""


def _rows_of(persons: Sequence[PersonRow], ids: IntArray) -> IntArray:
    """Row of each person id in `persons` (-1 when not among them)."""
    known = np.array([p.id for p in persons], dtype=np.int64)
    if known.size == 0:
        return np.full(ids.size, -1, dtype=np.int64)
    order = np.argsort(known)
    ordered = known[order]
    position = np.minimum(np.searchsorted(ordered, ids), known.size - 1)
    return np.where(ordered[position] == ids, order[position], -1).astype(np.int64)


def to_local(seconds: IntArray, zone: ZoneInfo, low: int, high: int) -> IntArray:
    """UTC epoch seconds (all within [low, high]) as local wall-clock epoch seconds."""
    if str(zone) in ("UTC", "Etc/UTC") or seconds.size == 0:
        return seconds
    changes, offsets = _offsets(zone, low, high)
    return seconds + offsets[np.searchsorted(changes, seconds, "right") - 1]


def _offsets(zone: ZoneInfo, low: int, high: int) -> tuple[IntArray, IntArray]:
    """Instants from which each UTC offset holds over [low, high] (transitions to the second)."""

    def offset(second: int) -> int:
        at = dt.datetime.fromtimestamp(second, dt.UTC).astimezone(zone)
        delta = at.utcoffset()
        return int(delta.total_seconds()) if delta else 0

    step = 900  # zone changes sit on quarter hours in practice; bisected to the second anyway
    changes, offsets = [low], [offset(low)]
    for second in range(low + step, high + step, step):
        current = offset(second)
        if current != offsets[-1]:
            before, after = second - step, second
            while after - before > 1:
                middle = (before + after) // 2
                before, after = (
                    (middle, after) if offset(middle) == offsets[-1] else (before, middle)
                )
            changes.append(after)
            offsets.append(current)
    return np.array(changes, dtype=np.int64), np.array(offsets, dtype=np.int64)


def delete_range(
    session: Session, person_ids: Sequence[int] | None, start: dt.date, end: dt.date
) -> None:
    """Delete the results of start..end (of some persons, or all)."""
    query = delete(AttendanceResult).where(
        AttendanceResult.day >= start, AttendanceResult.day <= end
    )
    if person_ids is None:
        session.execute(query)
        return
    for offset in range(0, len(person_ids), 1000):
        session.execute(
            query.where(AttendanceResult.person_id.in_(person_ids[offset : offset + 1000]))
        )


def delete_pairs(session: Session, pairs: Iterable[tuple[int, dt.date]]) -> None:
    """Delete the stored results of exactly these (person id, day) pairs."""
    by_days: dict[tuple[dt.date, ...], list[int]] = {}
    per_person: dict[int, set[dt.date]] = {}
    for person_id, day in pairs:
        per_person.setdefault(person_id, set()).add(day)
    for person_id, days in per_person.items():
        by_days.setdefault(tuple(sorted(days)), []).append(person_id)
    for days_key, person_ids in by_days.items():
        for offset in range(0, len(person_ids), 1000):
            session.execute(
                delete(AttendanceResult).where(
                    AttendanceResult.person_id.in_(person_ids[offset : offset + 1000]),
                    AttendanceResult.day.in_(days_key),
                )
            )


@contextlib.contextmanager
def bulk(session: Session) -> Iterator[None]:
    """SQLite: a page cache that holds the result indexes while a month is written (4x less
    I/O at 100,000 persons), the connection's own size restored afterwards."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    cursor = connection.connection.cursor()
    try:
        previous = cursor.execute("PRAGMA cache_size").fetchone()[0]
        cursor.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
        yield
    finally:
        cursor.execute(f"PRAGMA cache_size={int(previous)}")
        cursor.close()


def write(session: Session, month: Month, computed_at: dt.datetime) -> int:
    """Insert the month's rows: COPY on PostgreSQL, executemany elsewhere; returns the count."""
    connection = session.connection()
    columns = month_columns(month)
    cursor = connection.connection.cursor()
    try:
        if connection.dialect.name == "postgresql":
            _copy(cursor, columns, computed_at)
        else:
            stamp = computed_at.astimezone(dt.UTC).strftime(SQLITE_DATETIME)
            cursor.executemany(
                f"INSERT INTO attendance_result ({COLUMNS}) VALUES ({', '.join('?' * 14)})",
                zip(*columns, itertools.repeat(stamp)),  # type: ignore[arg-type]  # any iterable
            )
    finally:
        cursor.close()
    return len(columns[0])


def _copy(cursor: Any, columns: list[list[Any]], computed_at: dt.datetime) -> None:
    """COPY ... FROM STDIN in text format (backslashes in JSON doubled, as the format needs)."""
    detail = columns[-1]
    if any("\\" in text for text in detail):
        columns[-1] = [text.replace("\\", "\\\\") for text in detail]
    text = [list(map(str, column)) for column in columns]
    stamp = computed_at.astimezone(dt.UTC).isoformat()
    with cursor.copy(f"COPY attendance_result ({COLUMNS}) FROM STDIN") as copy:
        for offset in range(0, len(text[0]), 50_000):
            part = [column[offset : offset + 50_000] for column in text]
            copy.write(
                "".join(f"{line}\t{stamp}\n" for line in map("\t".join, zip(*part, strict=True)))
            )
