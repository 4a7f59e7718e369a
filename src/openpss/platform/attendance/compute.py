"""Schedules and results: which periods a person has on a day, and their stored outcome.

Precedence on a day: leave or business trip, then holiday, then the person's own shift
assignment, then the nearest department (up the tree) with an assignment. Days outside the
person's validity and employment are not due. `Context.plan` is the scalar rule; months are
planned and evaluated on the vectorised engine (`engine.py`, `openpss.attendance.bulk_periods`)
and written in bulk (`store.py`); tests hold the two to the same results.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.attendance.periods import (
    IN_PROGRESS,
    AnyPeriod,
    CycleShift,
    FixedPeriod,
    FlexiblePeriod,
    RestBreak,
    RestPeriodType,
    day_window,
)
from openpss.attendance.terminal import parse_hhmm
from openpss.platform.attendance import engine, store
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
REFRESH_DAYS = 366  # reads bring at most the last year up to date
BATCH = 20_000  # persons evaluated at once (about 2 MB of arrays per 1,000)


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
        return self.department_shift_id(person.department_id, day)

    def department_shift_id(self, department: int | None, day: dt.date) -> int | None:
        """The shift of the nearest department (up the tree) with an assignment on `day`."""
        seen: set[int] = set()
        while department is not None and department not in seen:
            seen.add(department)
            for start, end, shift_id in self.department_assignments.get(department, ()):
                if start <= day <= end:
                    return shift_id
            department = self.parents.get(department)
        return None

    def employment(self, person: PersonRow) -> tuple[dt.datetime | None, dt.date | None]:
        """First instant (local wall time) and last day the person is due to attend.

        From the later of validity start and employment date, to the earlier of validity end
        and termination date; days outside are not due (issue 8.3).
        """
        starts = [t for t in (person.valid_from, person.employment_date) if t is not None]
        ends = [t for t in (person.valid_to, person.termination_date) if t is not None]
        start = max(starts).astimezone(self.zone).replace(tzinfo=None) if starts else None
        end = min(ends).astimezone(self.zone).date() if ends else None
        return start, end

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
        """("shift", periods), or ("leave"|"business_trip"|"holiday"|"unscheduled", ()).

        Outside employment a day is unscheduled; on its first day only the periods whose valid
        window is still open when it starts are due.
        """
        start, end = self.employment(person)
        if (start is not None and day < start.date()) or (end is not None and day > end):
            return "unscheduled", ()
        kind, periods = self._plan(person, day)
        if start is None or day != start.date():
            return kind, periods
        due = tuple(
            p for p in periods if not isinstance(p, RestPeriodType) and p.window(day)[1] >= start
        )
        return ("shift", due) if kind == "shift" and due else ("unscheduled", ())

    def _plan(self, person: PersonRow, day: dt.date) -> tuple[str, tuple[AnyPeriod, ...]]:
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
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    employment_date: dt.datetime | None = None
    termination_date: dt.datetime | None = None


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


PERSON_COLUMNS = (
    Person.id,
    Person.user_id,
    Person.name,
    Person.department_id,
    Person.valid_from,
    Person.valid_to,
    Person.employment_date,
    Person.termination_date,
)


def load_persons(session: Session, person_ids: Iterable[int] | None = None) -> list[PersonRow]:
    """Persons ordered by user id, optionally only some."""
    query = select(*PERSON_COLUMNS)
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
    # In id order: the rows reach the (person_id, day) index in its order, appended, not
    # scattered over it (a third of the write time of a month at 100,000 persons).
    persons = sorted(load_persons(session, person_ids), key=lambda p: p.id)
    days = _days(start, end)
    now = utcnow()
    with store.bulk(session):
        ids = None if person_ids is None else [p.id for p in persons]
        store.delete_range(session, ids, start, end)
        rows, seconds = store.load_punches(session, ctx, persons, local_bounds(ctx, start, end))
        with store.Writer(session, now) as writer:  # PostgreSQL stores n while n + 1 is evaluated
            for offset in range(0, len(persons), BATCH):
                batch = persons[offset : offset + BATCH]
                inside = (rows >= offset) & (rows < offset + len(batch))
                punches = (rows[inside] - offset, seconds[inside])
                writer.add(engine.evaluate_month(ctx, batch, days, punches))
                if progress:
                    progress(offset + len(batch), len(persons))
        stored = writer.count
    logger.info("computed %d attendance results for %s..%s", stored, start, end)
    return stored


def compute_person_days(session: Session, pairs: Iterable[tuple[int, dt.date]]) -> int:
    """Recompute exactly the given (person id, day) pairs."""
    wanted = sorted(set(pairs))
    if not wanted:
        return 0
    ctx = load_context(session)
    persons = load_persons(session, {pid for pid, _ in wanted})
    row_of = {p.id: row for row, p in enumerate(persons)}
    items = [(row_of[pid], day) for pid, day in wanted if pid in row_of]
    if not items:
        return 0
    days = _days(min(d for _, d in items), max(d for _, d in items))
    mask = np.zeros((len(persons), len(days)), dtype=bool)
    for row, day in items:
        mask[row, (day - days[0]).days] = True
    store.delete_pairs(session, wanted)
    punches = store.load_punches(session, ctx, persons, local_bounds(ctx, days[0], days[-1]))
    month = engine.evaluate_month(ctx, persons, days, punches, mask)
    return store.write(session, month, utcnow())


def refresh(
    session: Session, start: dt.date, end: dt.date, person_ids: Iterable[int] | None = None
) -> int:
    """Bring stored results of start..end up to date before they are read (issue 8.3).

    A person whose stored days do not number their planned days (a new person, days since the
    last computation, days no longer planned) is recomputed over the range; days stored as in
    progress are recomputed one by one. Rule changes recompute through the services and hooks.
    """
    ctx = load_context(session)
    end = min(end, today(ctx))
    window = dt.timedelta(days=REFRESH_DAYS - 1)  # older days rarely change
    start = max(start, end - window) if end - dt.date.min > window else start  # near year 1
    if end < start:
        return 0
    persons = load_persons(session, person_ids)
    if not persons:
        return 0
    plan, _ = engine.build_plan(ctx, persons, _days(start, end))
    planned = np.bincount(plan.person, minlength=len(persons))
    stored = np.zeros(len(persons), dtype=np.int64)
    row_of = {p.id: row for row, p in enumerate(persons)}
    result = AttendanceResult
    in_range = (result.day >= start, result.day <= end)
    subset = person_ids is not None and len(persons) <= 1000
    query = select(result.person_id, func.count()).where(*in_range).group_by(result.person_id)
    open_days = select(result.person_id, result.day).where(*in_range, result.status == IN_PROGRESS)
    if subset:
        query = query.where(result.person_id.in_(list(row_of)))
        open_days = open_days.where(result.person_id.in_(list(row_of)))
    for pid, count in session.execute(query):
        if pid in row_of:
            stored[row_of[pid]] = count
    changed = [persons[row].id for row in np.flatnonzero(stored != planned).tolist()]
    whole = set(changed)
    pending = {
        (pid, day) for pid, day in session.execute(open_days) if pid in row_of and pid not in whole
    }
    if not changed and not pending:
        return 0
    logger.info(
        "refreshing %d persons and %d open days in %s..%s", len(changed), len(pending), start, end
    )
    count = compute_person_days(session, pending)
    if changed:
        count += compute_range(session=session, start=start, end=end, person_ids=changed)
    return count


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
            for row in session.execute(select(*PERSON_COLUMNS).where(Person.user_id.in_(user_ids)))
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
