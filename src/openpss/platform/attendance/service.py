"""Attendance rules of the platform: periods, shifts, assignments, leave, holidays, punches.

Every change is audited and recomputes the stored results it affects (up to today).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from openpss.attendance.periods import check_day_periods
from openpss.attendance.terminal import RuleError, format_hhmm, parse_hhmm
from openpss.platform.attendance import compute
from openpss.platform.attendance.models import (
    AttendanceException,
    AttendancePeriod,
    AttendanceResult,
    AttendanceShift,
    Holiday,
    ShiftAssignment,
)
from openpss.platform.attendance.schemas import (
    AssignmentCreate,
    ExceptionCreate,
    HolidayCreate,
    ManualPunchCreate,
    PeriodCreate,
    PeriodRead,
    PeriodUpdate,
    SettingsUpdate,
    ShiftCreate,
    ShiftUpdate,
)
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.people.models import Department, Person
from openpss.platform.records.models import AccessRecord
from openpss.platform.security.audit import Actor, record_audit

logger = logging.getLogger(__name__)
T = TypeVar("T")
TIME_FIELDS = ("work_start", "work_end", "checkin_start", "checkout_end")


def _get(session: Session, model: type[T], key: int, what: str) -> T:
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"{what} {key} does not exist")
    return row


# --- periods ---------------------------------------------------------------------------------


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


def _flush_unique(session: Session, what: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{what} already exists; choose another name") from None


def create_period(*, session: Session, actor: Actor, data: PeriodCreate) -> AttendancePeriod:
    """Add an attendance period (manual 3.8)."""
    row = AttendancePeriod(name=data.name, kind=data.kind)
    _apply_period(row, data.model_dump(mode="json"))
    session.add(row)
    _flush_unique(session, f"a period named {data.name!r}")
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
    row = _get(session, AttendancePeriod, period_id, "period")
    changes = data.model_dump(mode="json", exclude_unset=True)
    _apply_period(row, changes)
    _flush_unique(session, f"a period named {row.name!r}")
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
            _recompute_shift_days(session, shift.id, _uses_period(ShiftPlan.of(shift), period_id))
    return row


def delete_period(*, session: Session, actor: Actor, period_id: int) -> None:
    """Delete a period that no shift uses."""
    row = _get(session, AttendancePeriod, period_id, "period")
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


# --- shifts ----------------------------------------------------------------------------------


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
    _flush_unique(session, f"a shift named {data.name!r}")
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
    row = _get(session, AttendanceShift, shift_id, "shift")
    before = ShiftPlan.of(row)
    changes = data.model_dump(exclude_unset=True)
    _apply_shift(session, row, changes)
    _flush_unique(session, f"a shift named {row.name!r}")
    record_audit(
        session=session,
        actor=actor,
        action="attendance.shift.update",
        target=row.name,
        detail=data.model_dump(mode="json", exclude_unset=True),
    )
    after = ShiftPlan.of(row)  # results carry no shift name: only changed days are recomputed
    _recompute_shift_days(session, shift_id, lambda day: before.ids_on(day) != after.ids_on(day))
    return row


def delete_shift(*, session: Session, actor: Actor, shift_id: int) -> None:
    """Delete a shift and its assignments; their results are recomputed."""
    row = _get(session, AttendanceShift, shift_id, "shift")
    targets = _assignment_targets(session, [shift_id])
    session.delete(row)
    session.flush()
    record_audit(session=session, actor=actor, action="attendance.shift.delete", target=row.name)
    _recompute_existing(session, targets)


# --- assignments -----------------------------------------------------------------------------


def _department_members(session: Session, department_id: int) -> list[int]:
    tree: dict[int | None, list[int]] = {}
    for did, parent in session.execute(select(Department.id, Department.parent_id)):
        tree.setdefault(parent, []).append(did)
    wanted, stack = set(), [department_id]
    while stack:
        current = stack.pop()
        if current not in wanted:
            wanted.add(current)
            stack.extend(tree.get(current, []))
    query = select(Person.id).where(Person.department_id.in_(wanted))
    return list(session.scalars(query))


def _assignment_persons(session: Session, row: ShiftAssignment) -> list[int]:
    if row.person_id is not None:
        return [row.person_id]
    assert row.department_id is not None
    return _department_members(session, row.department_id)


Targets = list[tuple[list[int], dt.date, dt.date]]


def _assignment_targets(session: Session, shift_ids: list[int]) -> Targets:
    query = select(ShiftAssignment).where(ShiftAssignment.shift_id.in_(shift_ids))
    return [
        (_assignment_persons(session, a), a.start_date, a.end_date) for a in session.scalars(query)
    ]


def _end_before_start(start: dt.date, end: dt.date) -> str:
    return f"the end date {end} is before the start date {start}: choose an end on or after it"


def create_assignment(*, session: Session, actor: Actor, data: AssignmentCreate) -> ShiftAssignment:
    """Apply a shift to a person or a department for a date range, and compute those days."""
    if (data.person_id is None) == (data.department_id is None):
        raise Invalid("give exactly one of person_id and department_id")
    if data.end_date < data.start_date:
        raise Invalid(_end_before_start(data.start_date, data.end_date))
    _get(session, AttendanceShift, data.shift_id, "shift")
    if data.person_id is not None:
        _get(session, Person, data.person_id, "person")
    if data.department_id is not None:
        _get(session, Department, data.department_id, "department")
    row = ShiftAssignment(**data.model_dump())
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="attendance.assignment.create",
        target=str(row.id),
        detail=data.model_dump(mode="json"),
    )
    compute.compute_person_days(session, _governed_pairs(session, row))
    return row


def _governed_pairs(session: Session, row: ShiftAssignment) -> set[tuple[int, dt.date]]:
    """Person-days up to today whose shift comes from this assignment.

    Persons whose own (or a nearer department's) assignment takes precedence are left out.
    """
    ctx = compute.load_context(session)
    end = min(row.end_date, compute.today(ctx))
    days = [row.start_date + dt.timedelta(days=i) for i in range((end - row.start_date).days + 1)]
    persons = compute.load_persons(session, _assignment_persons(session, row))
    return {
        (person.id, day)
        for person in persons
        for day in days
        if ctx.shift_id_of(person, day) == row.shift_id
    }


def delete_assignment(*, session: Session, actor: Actor, assignment_id: int) -> None:
    """Remove an assignment and recompute the days it covered."""
    row = _get(session, ShiftAssignment, assignment_id, "assignment")
    governed = _governed_pairs(session, row)
    session.delete(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="attendance.assignment.delete",
        target=str(assignment_id),
    )
    compute.compute_person_days(session, governed)


# --- leave, trips, holidays, settings --------------------------------------------------------


def create_exception(
    *, session: Session, actor: Actor, data: ExceptionCreate
) -> AttendanceException:
    """Record a leave or business trip; it overrides the scheduled days it covers."""
    if data.end_date < data.start_date:
        raise Invalid(_end_before_start(data.start_date, data.end_date))
    _get(session, Person, data.person_id, "person")
    row = AttendanceException(**data.model_dump())
    session.add(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"attendance.{data.kind}.create",
        target=str(data.person_id),
        detail=data.model_dump(mode="json"),
    )
    _compute_until_today(session, [data.person_id], data.start_date, data.end_date)
    return row


def delete_exception(*, session: Session, actor: Actor, exception_id: int) -> None:
    """Remove a leave or trip and recompute its days."""
    row = _get(session, AttendanceException, exception_id, "leave/trip")
    person, start, end = row.person_id, row.start_date, row.end_date
    session.delete(row)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action=f"attendance.{row.kind}.delete",
        target=str(exception_id),
    )
    _compute_until_today(session, [person], start, end)


def create_holiday(*, session: Session, actor: Actor, data: HolidayCreate) -> Holiday:
    """Add a custom holiday and recompute that day."""
    row = Holiday(day=data.day, name=data.name)
    session.add(row)
    _flush_unique(session, f"a holiday on {data.day}")
    record_audit(
        session=session,
        actor=actor,
        action="attendance.holiday.create",
        target=data.day.isoformat(),
        detail=data.name,
    )
    _recompute_days(session, data.day, data.day)
    return row


def delete_holiday(*, session: Session, actor: Actor, holiday_id: int) -> None:
    """Remove a custom holiday and recompute that day."""
    row = _get(session, Holiday, holiday_id, "holiday")
    day = row.day
    session.delete(row)
    session.flush()
    record_audit(
        session=session, actor=actor, action="attendance.holiday.delete", target=day.isoformat()
    )
    _recompute_days(session, day, day)


def list_holidays(*, session: Session, year: int) -> list[dict[str, Any]]:
    """Custom and public holidays of a year, by date."""
    settings = compute.get_settings(session)
    found: list[dict[str, Any]] = []
    if settings.holiday_country:
        calendar = holiday_calendars.country_holidays(
            settings.holiday_country, subdiv=settings.holiday_subdivision or None, years=year
        )
        found += [{"id": None, "day": d, "name": n} for d, n in sorted(calendar.items())]
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    query = select(Holiday).where(Holiday.day >= start, Holiday.day <= end)
    found += [{"id": h.id, "day": h.day, "name": h.name} for h in session.scalars(query)]
    return sorted(found, key=lambda h: h["day"])


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
        _recompute_days(session, first, compute.today(compute.load_context(session)))
    return row


# --- punches ---------------------------------------------------------------------------------


def add_manual_punch(*, session: Session, actor: Actor, data: ManualPunchCreate) -> AccessRecord:
    """A punch entered by an operator: an access record (source manual) plus an audit entry."""
    person = _get(session, Person, data.person_id, "person")
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


# --- recompute helpers -----------------------------------------------------------------------


def _compute_until_today(
    session: Session, persons: list[int], start: dt.date, end: dt.date
) -> None:
    end = min(end, compute.today(compute.load_context(session)))
    if persons and start <= end:
        compute.compute_range(session=session, start=start, end=end, person_ids=persons)


def _recompute_days(session: Session, start: dt.date, end: dt.date) -> None:
    if start <= end:
        end = min(end, compute.today(compute.load_context(session)))
        if start <= end:
            compute.compute_range(session=session, start=start, end=end)


def _recompute_existing(session: Session, targets: Targets) -> None:
    """Recompute the stored results inside each (persons, start, end) target."""
    pairs: set[tuple[int, dt.date]] = set()
    for persons, start, end in targets:
        pairs.update(_stored_pairs(session, persons, start, end))
    compute.compute_person_days(session, pairs)


def _stored_pairs(
    session: Session, persons: list[int], start: dt.date, end: dt.date
) -> set[tuple[int, dt.date]]:
    """(person id, day) of the stored results of these persons within start..end."""
    found: set[tuple[int, dt.date]] = set()
    for offset in range(0, len(persons), 1000):
        query = select(AttendanceResult.person_id, AttendanceResult.day).where(
            AttendanceResult.person_id.in_(persons[offset : offset + 1000]),
            AttendanceResult.day >= start,
            AttendanceResult.day <= end,
        )
        found.update((pid, day) for pid, day in session.execute(query))
    return found


@dataclass(frozen=True)
class ShiftPlan:
    """A snapshot of a shift's calendar as period ids, to compare before and after a change."""

    start_date: dt.date
    cycle_mode: str
    cycles: int
    arrangement: dict[int, tuple[int, ...]]

    @classmethod
    def of(cls, row: AttendanceShift) -> ShiftPlan:
        """Snapshot a stored shift."""
        arrangement = {int(k): tuple(v) for k, v in row.arrangement.items()}
        return cls(row.start_date, row.cycle_mode, row.cycles, arrangement)

    def ids_on(self, day: dt.date) -> tuple[int, ...]:
        """Period ids the shift schedules on `day` (same cycle rule as the core CycleShift)."""
        if day < self.start_date:
            return ()
        origin = self.start_date
        if self.cycle_mode == "week":
            origin -= dt.timedelta(days=origin.weekday())
        length = self.cycles * (7 if self.cycle_mode == "week" else 1)
        return self.arrangement.get((day - origin).days % length, ())


def _uses_period(plan: ShiftPlan, period_id: int) -> Callable[[dt.date], bool]:
    """Whether the plan schedules the period on a day."""
    return lambda day: period_id in plan.ids_on(day)


def _recompute_shift_days(
    session: Session, shift_id: int, changed: Callable[[dt.date], bool]
) -> int:
    """Recompute stored person-days whose plan takes this shift on a `changed` day.

    Days a person's own assignment, a leave, a trip or a holiday overrides are left alone.
    """
    ctx = compute.load_context(session)
    candidates: set[tuple[int, dt.date]] = set()
    for persons, start, end in _assignment_targets(session, [shift_id]):
        candidates.update(_stored_pairs(session, persons, start, end))
    persons_by_id = {p.id: p for p in compute.load_persons(session, {p for p, _ in candidates})}
    pairs = {
        (pid, day)
        for pid, day in candidates
        if pid in persons_by_id
        and changed(day)
        and ctx.planned_shift_id(persons_by_id[pid], day) == shift_id
    }
    logger.info("shift %d changed: recomputing %d person-days", shift_id, len(pairs))
    return compute.compute_person_days(session, pairs)
