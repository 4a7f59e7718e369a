"""Long jobs (month computations, report and record exports) in a thread, with their progress.

A job counts what it has done of how much; the console polls it for a progress bar and the API
returns it as JSON. An export job leaves a file to download. Jobs live in this process's memory
(a restart forgets them; `remove_stale` deletes the files they left). Each job belongs to one
domain, and a domain's routes only answer for its own jobs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)
MAX_JOBS = 50
STALE_SECONDS = 24 * 3600
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# progress(done, total): called by the work as it goes
Progress = Callable[[int, int], None]


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
    domain: str = ""

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


def get_job(job_id: str, *, domain: str) -> Job | None:
    """A job of this domain by id (None for another domain's job)."""
    with _lock:
        job = _jobs.get(job_id)
    return job if job is not None and job.domain == domain else None


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
        logger.exception("%s job %s failed", job.domain, job.id)
        if job.path is not None:
            job.path.unlink(missing_ok=True)
        job.state, job.message, job.path = "failed", str(exc), None


def start(job: Job, work: Callable[[Progress], str]) -> Job:
    """Run `work` in a background thread; its return value becomes the job's message."""
    _register(job)
    threading.Thread(target=_run, args=(job, work), daemon=True).start()
    return job


def remove_stale(directory: Path) -> None:
    """Delete export files older than a day (left over from jobs a restart forgot)."""
    limit = time.time() - STALE_SECONDS
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
