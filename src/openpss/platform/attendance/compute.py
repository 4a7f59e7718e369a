"""Schedules and results: which periods a person has on a day, and their stored outcome.

Precedence on a day: leave or business trip, then holiday, then the person's own shift
assignment, then the nearest department (up the tree) with an assignment.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from sqlalchemy import DateTime, Table, delete, select, type_coerce
from sqlalchemy.orm import Session

from openpss.attendance.periods import (
    AnyPeriod,
    CycleShift,
    DayOutcome,
    FixedPeriod,
    FlexiblePeriod,
    PeriodOutcome,
    RestBreak,
    RestPeriodType,
    day_window,
    evaluate_person_day,
)
from openpss.attendance.terminal import parse_hhmm
from openpss.platform.attendance.models import (
    AttendanceException,
    AttendancePeriod,
    AttendanceResult,
    AttendanceSettings,
    AttendanceShift,
    Holiday,
    ShiftAssignment,
)
from openpss.platform.db import utcnow
from openpss.platform.errors import Invalid
from openpss.platform.people.models import Department, Person
from openpss.platform.records.models import AccessRecord

logger = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
BATCH = 2000


def core_period(row: AttendancePeriod) -> AnyPeriod:
    """The pure-core period of a stored row (raises RuleError on bad values)."""
    if row.kind == "rest":
        return RestPeriodType(row.name)
    if row.kind == "flexible":
        return FlexiblePeriod(
            row.name,
            row.required_minutes,
            row.day_change_minute,
            row.first_last_only,
            row.overtime_beyond_required,
        )
    rests = tuple(
        RestBreak(
            r["name"],
            parse_hhmm(r["start"]),
            parse_hhmm(r["end"]),
            r["minutes"],
            parse_hhmm(r["validity_start"]) if r.get("validity_start") else None,
            parse_hhmm(r["validity_end"]) if r.get("validity_end") else None,
            r.get("auto_deduction", True),
            r.get("must_check", False),
            r.get("transfer_unused", False),
        )
        for r in row.rests
    )
    return FixedPeriod(
        row.name,
        row.work_start,
        row.work_end,
        row.checkin_start,
        row.checkout_end,
        row.record_as_minutes,
        row.first_last_only,
        row.late_permitted_minutes,
        row.late_absence_minutes,
        row.early_permitted_minutes,
        rests,
    )


def core_shift(row: AttendanceShift, periods: dict[int, AnyPeriod]) -> CycleShift:
    """The pure-core shift of a stored row."""
    arrangement = {
        int(index): tuple(periods[pid] for pid in ids if pid in periods)
        for index, ids in row.arrangement.items()
    }
    return CycleShift(row.name, row.start_date, row.cycle_mode, row.cycles, arrangement)


def get_settings(session: Session) -> AttendanceSettings:
    """The settings row, created with defaults on first use."""
    row = session.get(AttendanceSettings, 1)
    if row is None:
        row = AttendanceSettings(id=1, timezone="UTC", holiday_country="", holiday_subdivision="")
        session.add(row)
        session.flush()
    return row


Span = tuple[dt.date, dt.date, int]


@dataclass
class Context:
    """Everything needed to schedule and evaluate person-days, loaded once."""

    zone: ZoneInfo
    shifts: dict[int, CycleShift]
    person_assignments: dict[int, list[Span]]
    department_assignments: dict[int, list[Span]]
    parents: dict[int, int | None]
    exceptions: dict[int, list[tuple[dt.date, dt.date, str]]]
    custom_holidays: dict[dt.date, str]
    country: str = ""
    subdivision: str = ""
    _public: dict[int, dict[dt.date, str]] = field(default_factory=dict)

    def holiday(self, day: dt.date) -> str | None:
        """The holiday name of `day`, custom first, then the country's public holidays."""
        if day in self.custom_holidays:
            return self.custom_holidays[day]
        if not self.country:
            return None
        if day.year not in self._public:
            calendar = holiday_calendars.country_holidays(
                self.country, subdiv=self.subdivision or None, years=day.year
            )
            self._public[day.year] = dict(calendar.items())
        return self._public[day.year].get(day)

    def shift_id_of(self, person: PersonRow, day: dt.date) -> int | None:
        """The person's own assignment wins; else the nearest department up the tree."""
        for start, end, shift_id in self.person_assignments.get(person.id, ()):
            if start <= day <= end:
                return shift_id
        department: int | None = person.department_id
        seen: set[int] = set()
        while department is not None and department not in seen:
            seen.add(department)
            for start, end, shift_id in self.department_assignments.get(department, ()):
                if start <= day <= end:
                    return shift_id
            department = self.parents.get(department)
        return None

    def shift_of(self, person: PersonRow, day: dt.date) -> CycleShift | None:
        """The shift that schedules the person's day (see shift_id_of)."""
        shift_id = self.shift_id_of(person, day)
        return None if shift_id is None else self.shifts.get(shift_id)

    def planned_shift_id(self, person: PersonRow, day: dt.date) -> int | None:
        """The shift whose periods the day's plan uses; None on leave, trip, holiday or none."""
        if any(s <= day <= e for s, e, _ in self.exceptions.get(person.id, ())):
            return None
        shift_id = self.shift_id_of(person, day)
        if shift_id is None or self.holiday(day) is not None:
            return None
        return shift_id

    def plan(self, person: PersonRow, day: dt.date) -> tuple[str, tuple[AnyPeriod, ...]]:
        """("shift", periods), or ("leave"|"business_trip"|"holiday"|"unscheduled", ())."""
        for start, end, kind in self.exceptions.get(person.id, ()):
            if start <= day <= end:
                return kind, ()
        shift = self.shift_of(person, day)
        if shift is None:
            return "unscheduled", ()
        if self.holiday(day) is not None:
            return "holiday", ()
        return "shift", shift.periods_on(day)


@dataclass(frozen=True)
class PersonRow:
    """The person fields attendance relies on."""

    id: int
    user_id: str
    name: str
    department_id: int | None


def load_context(session: Session) -> Context:
    """Load periods, shifts, assignments, exceptions, holidays and settings."""
    settings = get_settings(session)
    periods = {p.id: core_period(p) for p in session.scalars(select(AttendancePeriod))}
    shifts = {s.id: core_shift(s, periods) for s in session.scalars(select(AttendanceShift))}
    person_assignments: dict[int, list[Span]] = defaultdict(list)
    department_assignments: dict[int, list[Span]] = defaultdict(list)
    for a in session.scalars(select(ShiftAssignment).order_by(ShiftAssignment.id.desc())):
        span = (a.start_date, a.end_date, a.shift_id)  # newest assignment first wins
        if a.person_id is not None:
            person_assignments[a.person_id].append(span)
        elif a.department_id is not None:
            department_assignments[a.department_id].append(span)
    exceptions: dict[int, list[tuple[dt.date, dt.date, str]]] = defaultdict(list)
    for e in session.scalars(select(AttendanceException)):
        exceptions[e.person_id].append((e.start_date, e.end_date, e.kind))
    return Context(
        zone=ZoneInfo(settings.timezone),
        shifts=shifts,
        person_assignments=dict(person_assignments),
        department_assignments=dict(department_assignments),
        parents=dict(session.execute(select(Department.id, Department.parent_id)).all()),
        exceptions=dict(exceptions),
        custom_holidays={h.day: h.name for h in session.scalars(select(Holiday))},
        country=settings.holiday_country,
        subdivision=settings.holiday_subdivision,
    )


def load_persons(session: Session, person_ids: Iterable[int] | None = None) -> list[PersonRow]:
    """Persons ordered by user id, optionally only some."""
    query = select(Person.id, Person.user_id, Person.name, Person.department_id)
    wanted = None if person_ids is None else set(person_ids)
    if wanted is not None and len(wanted) <= 5000:  # larger sets: filter here, not in SQL
        query = query.where(Person.id.in_(sorted(wanted)))
    rows = (PersonRow(*row) for row in session.execute(query.order_by(Person.user_id)))
    return [p for p in rows if wanted is None or p.id in wanted]


def local_bounds(ctx: Context, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """UTC instants covering local days start-1 .. end+1 (windows may cross midnight)."""
    low = dt.datetime.combine(start - dt.timedelta(days=1), dt.time(), ctx.zone)
    high = dt.datetime.combine(end + dt.timedelta(days=2), dt.time(), ctx.zone)
    return low.astimezone(dt.UTC), high.astimezone(dt.UTC)


def load_punches(
    session: Session, ctx: Context, persons: Sequence[PersonRow], start: dt.date, end: dt.date
) -> dict[str, list[dt.datetime]]:
    """Successful punches per user id as sorted local wall-clock datetimes."""
    low, high = local_bounds(ctx, start, end)
    # The raw column (no UTCDateTime decorator per row): SQLite gives naive UTC, PostgreSQL aware.
    raw_time = type_coerce(AccessRecord.event_time, DateTime(timezone=True))
    query = select(AccessRecord.user_id, raw_time).where(
        AccessRecord.event_time >= low, AccessRecord.event_time < high, AccessRecord.success
    )
    if len(persons) <= 500:
        query = query.where(AccessRecord.user_id.in_([p.user_id for p in persons]))
    punches: dict[str, list[dt.datetime]] = defaultdict(list)
    utc_wall = str(ctx.zone) in ("UTC", "Etc/UTC")
    for user_id, at in session.execute(query):
        punches[user_id].append(_local_wall(at, ctx.zone, utc_wall))
    for times in punches.values():
        times.sort()
    return punches


def _local_wall(at: dt.datetime, zone: ZoneInfo, utc_wall: bool) -> dt.datetime:
    """A stored instant as naive local wall-clock time."""
    if at.tzinfo is None:
        if utc_wall:
            return at
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(zone).replace(tzinfo=None)


def _clock(at: dt.datetime | None) -> str | None:
    return at.time().isoformat("seconds") if at else None


def _period_detail(p: PeriodOutcome) -> dict[str, Any]:
    return {
        "name": p.name,
        "status": p.status,
        "check_in": _clock(p.check_in),
        "check_out": _clock(p.check_out),
        "late_minutes": p.late_minutes,
        "early_minutes": p.early_minutes,
        "work_minutes": p.work_minutes,
    }


def _outcome_columns(outcome: DayOutcome) -> dict[str, Any]:
    """The summed columns of a day's outcome, in one pass over its periods."""
    due = work = overtime = late = late_count = early = early_count = absent = 0
    for p in outcome.periods:
        due += p.due_minutes
        work += p.work_minutes
        overtime += p.overtime_minutes
        late += p.late_minutes
        early += p.early_minutes
        late_count += 1 if p.late_minutes else 0
        early_count += 1 if p.early_minutes else 0
        absent += p.due_minutes if p.status == "absent" else 0
    return {
        "status": outcome.status,
        "due_minutes": due,
        "work_minutes": work,
        "overtime_minutes": overtime,
        "late_count": late_count,
        "late_minutes": late,
        "early_count": early_count,
        "early_minutes": early,
        "absence_days": round(absent / due, 3) if due else 0.0,
        "detail": [_period_detail(p) for p in outcome.periods],
    }


def result_row(
    ctx: Context,
    person: PersonRow,
    day: dt.date,
    punches: Sequence[dt.datetime],
    computed_at: dt.datetime | None = None,
    own_day: Sequence[dt.datetime] | None = None,
) -> dict[str, Any] | None:
    """The stored columns of one person-day; None when the day is unscheduled.

    `punches` are the local punches of day-1 .. day+1 (windows may cross midnight);
    `own_day`, when the caller has it, those of `day` alone.
    """
    kind, periods = ctx.plan(person, day)
    if kind == "unscheduled":
        return None
    if kind != "shift":
        outcome = DayOutcome(kind)
    elif not periods:  # nothing scheduled that day: a rest day, whatever the punches
        outcome = DayOutcome("rest")
    else:
        outcome = evaluate_person_day(day, periods, punches)
    row = _outcome_columns(outcome)
    row["person_id"], row["day"] = person.id, day
    own = punches if own_day is None else own_day
    row["punches"] = [p.time().isoformat("seconds") for p in own if own_day or p.date() == day]
    row["computed_at"] = computed_at or utcnow()
    return row


def _group_by_date(punches: Sequence[dt.datetime]) -> dict[dt.date, list[dt.datetime]]:
    grouped: dict[dt.date, list[dt.datetime]] = defaultdict(list)
    for at in punches:
        grouped[at.date()].append(at)
    return grouped


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def compute_range(
    *,
    session: Session,
    start: dt.date,
    end: dt.date,
    person_ids: Iterable[int] | None = None,
    progress: Progress | None = None,
) -> int:
    """Compute and store the results of every person (or some) for start..end; returns rows.

    Days after today (in the attendance time zone) are not computed: they have no punches yet.
    """
    if end < start:
        raise Invalid("the end date is before the start date", field="end")
    ctx = load_context(session)
    end = min(end, today(ctx))
    if end < start:
        return 0
    persons = load_persons(session, person_ids)
    days = _days(start, end)
    punches = load_punches(session, ctx, persons, start, end)
    stored = 0
    for offset in range(0, len(persons), BATCH):
        batch = persons[offset : offset + BATCH]
        stored += _store(session, ctx, [(p, d) for p in batch for d in days], punches)
        if progress:
            progress(min(offset + BATCH, len(persons)), len(persons))
    logger.info("computed %d attendance results for %s..%s", stored, start, end)
    return stored


def _store(
    session: Session,
    ctx: Context,
    pairs: Sequence[tuple[PersonRow, dt.date]],
    punches: dict[str, list[dt.datetime]],
) -> int:
    """Replace the results of exactly these person-days."""
    if not pairs:
        return 0
    rows = []
    by_date: dict[str, dict[dt.date, list[dt.datetime]]] = {}
    one_day = dt.timedelta(days=1)
    now = utcnow()
    for person, day in pairs:
        dates = by_date.get(person.user_id)
        if dates is None:
            dates = by_date[person.user_id] = _group_by_date(punches.get(person.user_id, ()))
        own = dates.get(day, [])
        near = dates.get(day - one_day, []) + own + dates.get(day + one_day, [])
        row = result_row(ctx, person, day, near, now, own)
        if row is not None:
            rows.append(row)
    _delete_results(session, pairs)
    table = cast(Table, AttendanceResult.__table__)
    for offset in range(0, len(rows), 5000):
        session.execute(table.insert(), rows[offset : offset + 5000])
    return len(rows)


def _delete_results(session: Session, pairs: Sequence[tuple[PersonRow, dt.date]]) -> None:
    """Delete the stored results of exactly these person-days (grouped by identical day sets)."""
    by_person: dict[int, set[dt.date]] = defaultdict(set)
    for person, day in pairs:
        by_person[person.id].add(day)
    groups: dict[tuple[dt.date, ...], list[int]] = defaultdict(list)
    for person_id, days in by_person.items():
        groups[tuple(sorted(days))].append(person_id)
    for days_key, person_ids in groups.items():
        for offset in range(0, len(person_ids), 1000):
            chunk = person_ids[offset : offset + 1000]
            session.execute(
                delete(AttendanceResult).where(
                    AttendanceResult.person_id.in_(chunk), AttendanceResult.day.in_(days_key)
                )
            )


def compute_person_days(session: Session, pairs: Iterable[tuple[int, dt.date]]) -> int:
    """Recompute exactly the given (person id, day) pairs."""
    wanted = sorted(set(pairs))
    if not wanted:
        return 0
    ctx = load_context(session)
    persons = {p.id: p for p in load_persons(session, {pid for pid, _ in wanted})}
    items = [(persons[pid], day) for pid, day in wanted if pid in persons]
    if not items:
        return 0
    start, end = min(d for _, d in items), max(d for _, d in items)
    punches = load_punches(session, ctx, list(persons.values()), start, end)
    return _store(session, ctx, items, punches)


def affected_days(ctx: Context, person: PersonRow, local: dt.datetime) -> list[dt.date]:
    """Days whose result a punch at local time `local` can change."""
    days = []
    for offset in (-1, 0, 1):
        day = local.date() + dt.timedelta(days=offset)
        kind, periods = ctx.plan(person, day)
        if kind == "unscheduled":
            continue
        window = day_window(day, periods)
        if offset == 0 or (window is not None and window[0] <= local <= window[1]):
            days.append(day)
    return days


def recompute_for_punches(session: Session, records: Iterable[AccessRecord]) -> int:
    """Recompute the person-days that newly stored punches affect (call after inserting them)."""
    records = [r for r in records if r.user_id]
    if not records:
        return 0
    ctx = load_context(session)
    user_ids = {r.user_id for r in records}
    persons = {
        p.user_id: p
        for p in (
            PersonRow(*row)
            for row in session.execute(
                select(Person.id, Person.user_id, Person.name, Person.department_id).where(
                    Person.user_id.in_(user_ids)
                )
            )
        )
    }
    pairs: set[tuple[int, dt.date]] = set()
    for record in records:
        person = persons.get(record.user_id)
        if person is not None:
            local = record.event_time.astimezone(ctx.zone).replace(tzinfo=None)
            pairs.update((person.id, day) for day in affected_days(ctx, person, local))
    return compute_person_days(session, pairs)


def today(ctx: Context) -> dt.date:
    """Today in the attendance time zone."""
    return dt.datetime.now(ctx.zone).date()
