"""Recompute a person's stored attendance when their department or employment changes.

Department shift assignments apply to a person through their department, so moving a person
changes which shift their stored days are judged against; validity and employment dates decide
which days are due at all. The changed persons are collected at flush and their already-stored
days recomputed just before the transaction commits (days that become due are computed when
read, see compute.refresh).
"""

from __future__ import annotations

import logging

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, UOWTransaction

from openpss.platform.attendance.compute import compute_person_days
from openpss.platform.attendance.models import AttendanceResult
from openpss.platform.people.models import Person

logger = logging.getLogger(__name__)
_KEY = "openpss.attendance.moved_persons"
WATCHED = ("department_id", "valid_from", "valid_to", "employment_date", "termination_date")


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush: UOWTransaction) -> None:
    for obj in session.dirty:
        if isinstance(obj, Person) and any(
            getattr(inspect(obj).attrs, name).history.has_changes() for name in WATCHED
        ):
            session.info.setdefault(_KEY, set()).add(obj.id)


@event.listens_for(Session, "before_commit")
def _recompute(session: Session) -> None:
    session.flush()
    moved: set[int] = session.info.pop(_KEY, set())
    if not moved:
        return
    pairs = session.execute(
        select(AttendanceResult.person_id, AttendanceResult.day).where(
            AttendanceResult.person_id.in_(sorted(moved))
        )
    ).all()
    count = compute_person_days(session, [(pid, day) for pid, day in pairs])
    logger.info("recomputed %d attendance days of %d moved persons", count, len(moved))
