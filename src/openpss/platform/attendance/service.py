"""Attendance settings and manual punches of the platform, and computing results on request.

Periods and shifts are in `shifts`, assignments, leave and holidays in `assignments`, what a
change recomputes in `recompute`. Every change is audited.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.attendance import compute, recompute
from openpss.platform.attendance.models import (
    AttendanceResult,
)
from openpss.platform.attendance.schemas import (
    ManualPunchCreate,
    SettingsUpdate,
)
from openpss.platform.errors import Invalid
from openpss.platform.people.models import Person
from openpss.platform.records.models import AccessRecord
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)


def update_settings(*, session: Session, actor: Actor, data: SettingsUpdate) -> Any:
    """Change the time zone or holiday country, then recompute every stored result."""
    row = compute.get_settings(session)
    changes = data.model_dump(exclude_unset=True)
    country = changes.get("holiday_country", row.holiday_country)
    subdivision = changes.get("holiday_subdivision", row.holiday_subdivision)
    if country:
        try:
            holiday_calendars.country_holidays(country, subdiv=subdivision or None, years=2026)
        except NotImplementedError:
            raise Invalid(
                f"no public holidays known for country {country!r} / {subdivision!r}"
            ) from None
    for name, value in changes.items():
        default = "UTC" if name == "timezone" else ""
        setattr(row, name, value if value is not None else default)
    session.flush()
    record_audit(session=session, actor=actor, action="attendance.settings.update", detail=changes)
    first = session.scalar(select(AttendanceResult.day).order_by(AttendanceResult.day).limit(1))
    if first is not None:
        recompute.recompute_days(session, first, compute.today(compute.load_context(session)))
    return row


def add_manual_punch(*, session: Session, actor: Actor, data: ManualPunchCreate) -> AccessRecord:
    """A punch entered by an operator: an access record (source manual) plus an audit entry."""
    person = recompute.get_row(session, Person, data.person_id, "person")
    at = data.time
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(compute.get_settings(session).timezone))
    record = AccessRecord(
        device_id=None,
        record_no=None,
        event_time=at,
        user_id=person.user_id,
        card_no="",
        method="manual",
        attendance_state="",
        success=True,
        source="manual",
    )
    session.add(record)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="attendance.punch.manual",
        target=person.user_id,
        detail={"time": at.isoformat(), "reason": data.reason},
    )
    compute.recompute_for_punches(session, [record])
    return record


# --- results on request ----------------------------------------------------------------------


def record_compute(
    *,
    session: Session,
    actor: Actor,
    start: dt.date,
    end: dt.date,
    person_ids: list[int] | None = None,
) -> None:
    """Audit a request to compute results (the API computes at once, the console in a job)."""
    detail = {"start": start.isoformat(), "end": end.isoformat(), "person_ids": person_ids}
    record_audit(session=session, actor=actor, action="attendance.results.compute", detail=detail)


def compute_results(
    *,
    session: Session,
    actor: Actor,
    start: dt.date,
    end: dt.date,
    person_ids: list[int] | None = None,
) -> int:
    """Compute and store the results of a date range now (audited); returns how many."""
    record_compute(session=session, actor=actor, start=start, end=end, person_ids=person_ids)
    return compute.compute_range(session=session, start=start, end=end, person_ids=person_ids)
