"""Export of a whole search result (access, call or alarm records) to xlsx or CSV.

"Click Export to export all the ... records to the computer" (platform-video-intercom 4.1-4.3):
every matching record, oldest first, read in keyset batches (never the whole result in memory)
and written to a file as it is read (openpyxl write-only; over a million rows continue on the
next sheet). Long exports run as a background job (platform/jobs.py) that reports the records
written of all; the console polls it and then offers the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform import jobs
from openpss.platform.jobs import Job, Progress
from openpss.platform.records import service
from openpss.platform.records.models import AlarmRecord, CallRecord
from openpss.platform.records.schemas import ExportFormat, RecordKind, RecordQuery
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.xlsx import write_xlsx_sheets

logger = logging.getLogger(__name__)
DOMAIN = "records"
BATCH = 2000  # records read per query (and enriched with one query per name table)
CSV_TIME = "%Y-%m-%d %H:%M:%S"
COLUMNS: dict[str, list[str]] = {
    "access": [
        "Record No.",
        "Time (UTC)",
        "Device",
        "User ID",
        "Name",
        "Card No.",
        "Method",
        "Attendance State",
        "Result",
        "Reason",
    ],
    "calls": [
        "Record ID",
        "Start (UTC)",
        "End (UTC)",
        "Device",
        "Caller",
        "Callee",
        "Answered By",
        "Status",
        "Duration (s)",
    ],
    "alarms": [
        "Record ID",
        "Time (UTC)",
        "Device",
        "Alarm Type",
        "Channel",
        "Detail",
        "Acknowledged",
    ],
}
TITLES = {"access": "Access records", "calls": "Call records", "alarms": "Alarm records"}


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as naive UTC (a spreadsheet date has no zone; the header says UTC)."""
    return None if value is None else value.astimezone(dt.UTC).replace(tzinfo=None)


def count_matching(session: Session, kind: RecordKind, filters: RecordQuery) -> int:
    """The exact number of records an export of `filters` writes."""
    statement = service.filtered_query(session, kind, filters)
    key = service.KINDS[kind][1].id
    limited = statement.with_only_columns(key).order_by(None).subquery()
    return int(session.scalar(select(func.count()).select_from(limited)) or 0)


def _batches(session: Session, kind: RecordKind, statement: Select[Any]) -> Iterator[list[Any]]:
    """The matching records, oldest first, BATCH at a time (each batch one keyset query)."""
    keyset = service.KINDS[kind][1]
    cursor = ""
    while True:
        query = statement.order_by(*keyset.reverse()).limit(BATCH)
        if cursor:
            query = query.where(keyset.before(cursor))
        batch = list(session.scalars(query))
        if batch:
            yield batch
        if len(batch) < BATCH:
            return
        cursor = keyset.cursor(batch[-1])
        session.expunge_all()  # keep the identity map from growing with the export


def export_rows(
    session: Session, kind: RecordKind, filters: RecordQuery, progress: Progress | None = None
) -> Iterator[list[Any]]:
    """The spreadsheet rows of every record matching `filters` (COLUMNS[kind]), oldest first."""
    total = count_matching(session, kind, filters) if progress else 0
    statement = service.filtered_query(session, kind, filters)
    done = 0
    if progress:
        progress(0, total)
    for batch in _batches(session, kind, statement):
        yield from _rows(session, kind, batch)
        done += len(batch)
        if progress:
            progress(done, max(total, done))


def _rows(session: Session, kind: RecordKind, batch: Sequence[Any]) -> Iterable[list[Any]]:
    if kind == "access":
        for r in service.enrich_access(session, batch):
            yield [
                r.record_no, _utc(r.event_time), r.device_name, r.user_id, r.person_name,
                r.card_no, r.method, r.attendance_state, "success" if r.success else "failure",
                r.reason,
            ]  # fmt: skip
        return
    names = service.device_names(session, {r.device_id for r in batch if r.device_id})
    if kind == "calls":
        for c in batch:
            assert isinstance(c, CallRecord)
            yield [
                c.id, _utc(c.start_time), _utc(c.end_time), names.get(c.device_id or 0, ""),
                c.caller, c.callee, c.answered_by or "", c.status, c.duration_seconds,
            ]  # fmt: skip
        return
    for a in batch:
        assert isinstance(a, AlarmRecord)
        yield [
            a.id, _utc(a.event_time), names.get(a.device_id or 0, ""), a.alarm_type, a.channel,
            a.detail, "yes" if a.acknowledged else "no",
        ]  # fmt: skip


def write_export(
    session: Session,
    kind: RecordKind,
    filters: RecordQuery,
    fmt: ExportFormat,
    out: Path,
    progress: Progress | None = None,
) -> int:
    """Write every matching record to `out` as xlsx or CSV; returns how many were written."""
    written = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal written
        for row in export_rows(session, kind, filters, progress):
            written += 1
            yield row

    if fmt == "xlsx":
        write_xlsx_sheets(out, TITLES[kind], counted(), COLUMNS[kind])
    else:
        _write_csv(out, COLUMNS[kind], counted())
    return written


def _write_csv(out: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """UTF-8 CSV with BOM (so spreadsheet programs detect the encoding), times as text."""
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row])


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    return value.strftime(CSV_TIME) if isinstance(value, dt.datetime) else value


def audit_export(
    *, session: Session, actor: Actor, kind: RecordKind, filters: RecordQuery, fmt: str
) -> None:
    """The audit entry of an export (who exported which records)."""
    record_audit(
        session=session, actor=actor, action="records.export", target=f"{kind}.{fmt}",
        detail=filters.filters(),
    )  # fmt: skip


def start_export(
    *,
    session: Session,
    actor: Actor,
    factory: sessionmaker[Session],
    directory: Path,
    kind: RecordKind,
    filters: RecordQuery,
    fmt: ExportFormat,
) -> Job:
    """Audit an export and start writing it in the background; returns the job to poll.

    The filters are checked here (a bad organization node fails the request, not the job).
    """
    filters = service.query_of(kind, filters)
    service.filtered_query(session, kind, filters)
    audit_export(session=session, actor=actor, kind=kind, filters=filters, fmt=fmt)
    directory.mkdir(parents=True, exist_ok=True)
    jobs.remove_stale(directory)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    filename = f"{kind}-records-{stamp}.{fmt}"
    job = Job(secrets.token_hex(8), filename, filename=filename, domain=DOMAIN)
    job.path = directory / f"{job.id}.{fmt}"

    def work(progress: Progress) -> str:
        assert job.path is not None
        with factory() as job_session:
            written = write_export(job_session, kind, filters, fmt, job.path, progress)
        logger.info("records export %s: %d %s records", job.id, written, kind)
        return f"{written} records exported"

    return jobs.start(job, work)


def get_export(job_id: str) -> Job | None:
    """A records export job by id."""
    return jobs.get_job(job_id, domain=DOMAIN)
