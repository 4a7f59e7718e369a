"""Attendance periods and shifts of the platform (manual 3.8-3.9): add, change, delete.

Every change is audited and recomputes the stored results it affects (up to today).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.attendance.periods import check_day_periods
from openpss.attendance.terminal import RuleError, format_hhmm, parse_hhmm
from openpss.platform.attendance import compute, recompute
from openpss.platform.attendance.models import (
    AttendancePeriod,
    AttendanceShift,
)
from openpss.platform.attendance.schemas import (
    PeriodCreate,
    PeriodRead,
    PeriodUpdate,
    ShiftCreate,
    ShiftUpdate,
)
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)
TIME_FIELDS = ("work_start", "work_end", "checkin_start", "checkout_end")


def period_to_read(row: AttendancePeriod) -> PeriodRead:
    """The API shape of a stored period."""
    data: dict[str, Any] = {c: getattr(row, c) for c in PeriodRead.model_fields if hasattr(row, c)}
    for name in TIME_FIELDS:
        data[name] = format_hhmm(getattr(row, name))
    data["day_change"] = format_hhmm(row.day_change_minute)
    return PeriodRead.model_validate(data)


def _apply_period(row: AttendancePeriod, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name in TIME_FIELDS:
            setattr(row, name, parse_hhmm(value))
        elif name == "day_change":
            row.day_change_minute = parse_hhmm(value)
        elif name == "rests":
            row.rests = [dict(r) for r in value]
        else:
            setattr(row, name, value)
    if row.kind == "flexible" and row.required_minutes <= 0:
        raise Invalid("a flexible period needs required work minutes (1-1440)")
    try:
        compute.core_period(row)
    except RuleError as exc:
        raise Invalid(str(exc)) from None


def create_period(*, session: Session, actor: Actor, data: PeriodCreate) -> AttendancePeriod:
    """Add an attendance period (manual 3.8)."""
    row = AttendancePeriod(name=data.name, kind=data.kind)
    _apply_period(row, data.model_dump(mode="json"))
    session.add(row)
    recompute.flush_unique(session, f"a period named {data.name!r}")
    record_audit(
        session=session,
        actor=actor,
        action="attendance.period.create",
        target=data.name,
        detail=data.model_dump(mode="json"),
    )
    return row


def update_period(
    *, session: Session, actor: Actor, period_id: int, data: PeriodUpdate
) -> AttendancePeriod:
    """Change a period and recompute the results of the shifts that use it."""
    row = recompute.get_row(session, AttendancePeriod, period_id, "period")
    changes = data.model_dump(mode="json", exclude_unset=True)
    _apply_period(row, changes)
    recompute.flush_unique(session, f"a period named {row.name!r}")
    _check_shifts_still_valid(session)
    record_audit(
        session=session,
        actor=actor,
        action="attendance.period.update",
        target=row.name,
        detail=changes,
    )
    for shift in session.scalars(select(AttendanceShift)):
        if period_id in _ids(shift):
            recompute.recompute_shift_days(
                session, shift.id, recompute.uses_period(recompute.ShiftPlan.of(shift), period_id)
            )
    return row


def delete_period(*, session: Session, actor: Actor, period_id: int) -> None:
    """Delete a period that no shift uses."""
    row = recompute.get_row(session, AttendancePeriod, period_id, "period")
    users = [s.name for s in session.scalars(select(AttendanceShift)) if period_id in _ids(s)]
    if users:
        raise Conflict(
            f"period {row.name!r} is used by shift(s) {', '.join(users)}; remove it there"
        )
    session.delete(row)
    record_audit(session=session, actor=actor, action="attendance.period.delete", target=row.name)


def _ids(shift: AttendanceShift) -> set[int]:
    return {pid for ids in shift.arrangement.values() for pid in ids}


def _check_shifts_still_valid(session: Session) -> None:
    periods = {p.id: compute.core_period(p) for p in session.scalars(select(AttendancePeriod))}
    for shift in session.scalars(select(AttendanceShift)):
        try:
            compute.core_shift(shift, periods)
        except RuleError as exc:
            raise Invalid(f"shift {shift.name!r} would become invalid: {exc}") from None


def _apply_shift(session: Session, row: AttendanceShift, data: dict[str, Any]) -> None:
    for name, value in data.items():
        if name == "arrangement":
            row.arrangement = {str(int(k)): [int(x) for x in v] for k, v in value.items()}
        else:
            setattr(row, name, value)
    periods = {p.id: compute.core_period(p) for p in session.scalars(select(AttendancePeriod))}
    for ids in row.arrangement.values():
        for pid in ids:
            if pid not in periods:
                raise NotFound(f"period {pid} does not exist")
    try:
        shift = compute.core_shift(row, periods)
        for day_periods in shift.arrangement.values():
            check_day_periods(day_periods)
    except RuleError as exc:
        raise Invalid(str(exc)) from None


def create_shift(*, session: Session, actor: Actor, data: ShiftCreate) -> AttendanceShift:
    """Add a shift (manual 3.9)."""
    row = AttendanceShift(name=data.name, arrangement={})
    _apply_shift(session, row, data.model_dump())
    session.add(row)
    recompute.flush_unique(session, f"a shift named {data.name!r}")
    record_audit(
        session=session,
        actor=actor,
        action="attendance.shift.create",
        target=data.name,
        detail=data.model_dump(mode="json"),
    )
    return row


def update_shift(
    *, session: Session, actor: Actor, shift_id: int, data: ShiftUpdate
) -> AttendanceShift:
    """Change a shift (e.g. a period dragged onto a day) and recompute its results."""
    row = recompute.get_row(session, AttendanceShift, shift_id, "shift")
    before = recompute.ShiftPlan.of(row)
    changes = data.model_dump(exclude_unset=True)
    _apply_shift(session, row, changes)
    recompute.flush_unique(session, f"a shift named {row.name!r}")
    record_audit(
        session=session,
        actor=actor,
        action="attendance.shift.update",
        target=row.name,
        detail=data.model_dump(mode="json", exclude_unset=True),
    )
    after = recompute.ShiftPlan.of(
        row
    )  # results carry no shift name: only changed days are recomputed
    recompute.recompute_shift_days(
        session, shift_id, lambda day: before.ids_on(day) != after.ids_on(day)
    )
    return row


def delete_shift(*, session: Session, actor: Actor, shift_id: int) -> None:
    """Delete a shift and its assignments; their results are recomputed."""
    row = recompute.get_row(session, AttendanceShift, shift_id, "shift")
    targets = recompute.assignment_targets(session, [shift_id])
    session.delete(row)
    session.flush()
    record_audit(session=session, actor=actor, action="attendance.shift.delete", target=row.name)
    recompute.recompute_existing(session, targets)
