"""Month computations and report exports run in a thread (platform/jobs.py) with progress."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openpss.platform import jobs as platform_jobs
from openpss.platform.attendance import compute, reports
from openpss.platform.attendance.compute import Progress
from openpss.platform.jobs import STALE_SECONDS, Job

__all__ = ["STALE_SECONDS", "Job", "get_job", "start_compute", "start_export"]

logger = logging.getLogger(__name__)
DOMAIN = "attendance"


def get_job(job_id: str) -> Job | None:
    """An attendance job by id."""
    return platform_jobs.get_job(job_id, domain=DOMAIN)


def _start(job: Job, work: Callable[[Progress], str]) -> Job:
    job.domain = DOMAIN
    return platform_jobs.start(job, work)


def _remove_stale(directory: Path) -> None:
    """Delete export files older than a day (left over from jobs a restart forgot)."""
    platform_jobs.remove_stale(directory)


def start_compute(factory: Any, start: dt.date, end: dt.date) -> Job:
    """Start computing start..end in a background thread; returns the job to poll."""

    def work(progress: Progress) -> str:
        with factory() as session:
            stored = compute.compute_range(session=session, start=start, end=end, progress=progress)
            session.commit()
        return f"{stored} person-days computed"

    return _start(Job(secrets.token_hex(8), f"{start} to {end}"), work)


def start_export(
    factory: sessionmaker[Session],
    directory: Path,
    *,
    kind: str,
    year: int,
    month: int,
    fmt: str,
    department_id: int | None = None,
) -> Job:
    """Start writing a monthly report ("report") or record ("record") to a CSV or xlsx file."""
    reports.month_bounds(year, month)  # a bad month fails here, not in the thread
    name = f"attendance-{kind}-{year}-{month:02d}"
    job = Job(secrets.token_hex(8), f"{name}.{fmt}", filename=f"{name}.{fmt}")
    directory.mkdir(parents=True, exist_ok=True)
    _remove_stale(directory)
    job.path = directory / f"{job.id}.{fmt}"
    producer = reports.report_rows if kind == "report" else reports.record_rows

    def work(progress: Progress) -> str:
        assert job.path is not None
        with factory() as session:
            rows = producer(
                session=session,
                year=year,
                month=month,
                department_id=department_id,
                progress=progress,
            )
            if fmt == "xlsx":
                reports.write_xlsx(rows, job.path, f"{kind} {year}-{month:02d}")
            else:
                reports.write_csv(rows, job.path)
        return f"{max(job.total, 0)} persons exported"

    return _start(job, work)
