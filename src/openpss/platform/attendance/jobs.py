"""Month computations run in a thread so the console can show their progress."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.attendance import compute

logger = logging.getLogger(__name__)
MAX_JOBS = 50


@dataclass
class Job:
    """Progress of one computation."""

    id: str
    label: str
    done: int = 0
    total: int = 0
    state: str = "running"  # running / finished / failed
    message: str = ""

    @property
    def percent(self) -> int:
        """Completion in percent."""
        if self.state != "running":
            return 100
        return int(100 * self.done / self.total) if self.total else 0


_jobs: dict[str, Job] = {}
_lock = threading.Lock()


def get_job(job_id: str) -> Job | None:
    """A job by id."""
    with _lock:
        return _jobs.get(job_id)


def _run(job: Job, factory: sessionmaker[Session], start: dt.date, end: dt.date) -> None:
    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    try:
        with factory() as session:
            stored = compute.compute_range(session=session, start=start, end=end, progress=progress)
            session.commit()
        job.state, job.message = "finished", f"{stored} person-days computed"
    except Exception as exc:  # reported on the page; the thread must not die silently
        logger.exception("attendance computation %s failed", job.id)
        job.state, job.message = "failed", str(exc)


def start_compute(factory: Any, start: dt.date, end: dt.date) -> Job:
    """Start computing start..end in a background thread; returns the job to poll."""
    job = Job(secrets.token_hex(8), f"{start} to {end}")
    with _lock:
        if len(_jobs) >= MAX_JOBS:
            for old in [j for j in _jobs.values() if j.state != "running"][: MAX_JOBS // 2]:
                del _jobs[old.id]
        _jobs[job.id] = job
    threading.Thread(target=_run, args=(job, factory, start, end), daemon=True).start()
    return job
