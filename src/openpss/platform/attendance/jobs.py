"""Month computations and report exports run in a thread so the console can show progress."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.attendance import compute, reports
from openpss.platform.attendance.compute import Progress

logger = logging.getLogger(__name__)
MAX_JOBS = 50
STALE_SECONDS = 24 * 3600
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class Job:
    """Progress of one computation or export; an export leaves a file to download."""

    id: str
    label: str
    done: int = 0
    total: int = 0
    state: str = "running"  # running / finished / failed
    message: str = ""
    path: Path | None = None
    filename: str = ""

    @property
    def percent(self) -> int:
        """Completion in percent."""
        if self.state != "running":
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def media_type(self) -> str:
        """Content type of the exported file."""
        return "text/csv" if self.filename.endswith(".csv") else XLSX_TYPE


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get_job(job_id: str) -> Job | None:
    """A job by id."""
    with _lock:
        return _jobs.get(job_id)


def _register(job: Job) -> None:
    """Keep the job; when too many are kept, forget (and delete the files of) old finished ones."""
    with _lock:
        if len(_jobs) >= MAX_JOBS:
            for old in [j for j in _jobs.values() if j.state != "running"][: MAX_JOBS // 2]:
                del _jobs[old.id]
                if old.path is not None:
                    old.path.unlink(missing_ok=True)
        _jobs[job.id] = job


def _run(job: Job, work: Callable[[Progress], str]) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        job.message = work(progress)
        job.state = "finished"
    except Exception as exc:  # reported on the page; the thread must not die silently
        logger.exception("attendance job %s failed", job.id)
        if job.path is not None:
            job.path.unlink(missing_ok=True)
        job.state, job.message, job.path = "failed", str(exc), None


def _start(job: Job, work: Callable[[Progress], str]) -> Job:
    _register(job)
    threading.Thread(target=_run, args=(job, work), daemon=True).start()
    return job


def start_compute(factory: Any, start: dt.date, end: dt.date) -> Job:
    """Start computing start..end in a background thread; returns the job to poll."""

    def work(progress: Progress) -> str:
        with factory() as session:
            stored = compute.compute_range(session=session, start=start, end=end, progress=progress)
            session.commit()
        return f"{stored} person-days computed"

    return _start(Job(secrets.token_hex(8), f"{start} to {end}"), work)


def _remove_stale(directory: Path) -> None:
    """Delete export files older than a day (left over from jobs a restart forgot)."""
    limit = time.time() - STALE_SECONDS
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)


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
