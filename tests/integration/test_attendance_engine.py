"""The platform's compute path (vectorised plan + engine + bulk write) gives exactly the scalar
reference (Context.plan + evaluate_person_day) on random worlds: departments and personal
assignments, day and week cycles, fixed/flexible/rest periods with their options, leave,
business trips, holidays, validity and employment dates."""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
from collections import defaultdict
from typing import Any

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.attendance.periods import DayOutcome, evaluate_person_day
from openpss.platform.attendance import compute, engine, store
from openpss.platform.attendance.models import (
    AttendanceException,
    AttendancePeriod,
    AttendanceResult,
    AttendanceShift,
    Holiday,
    ShiftAssignment,
)
from openpss.platform.people.models import Department, Person
from openpss.platform.records.models import AccessRecord

UTC = dt.UTC
FIRST, LAST = dt.date(2024, 3, 1), dt.date(2024, 3, 21)


def _fixed(rng: random.Random, name: str, start: int, span: int) -> AttendancePeriod:
    before, after = rng.randint(0, 120), rng.randint(0, 120)
    rests = []
    if rng.random() < 0.5:
        rest_start = (start + span // 2) % 1440
        rests.append(
            {
                "name": "break",
                "start": f"{rest_start // 60:02d}:{rest_start % 60:02d}",
                "end": f"{(rest_start + 45) % 1440 // 60:02d}:{(rest_start + 45) % 60:02d}",
                "minutes": rng.randint(10, 45),
                "auto_deduction": rng.random() < 0.7,
                "must_check": rng.random() < 0.3,
                "transfer_unused": rng.random() < 0.5,
            }
        )
    return AttendancePeriod(
        name=name,
        kind="fixed",
        work_start=start,
        work_end=(start + span) % 1440,
        checkin_start=(start - before) % 1440,
        checkout_end=(start + span + after) % 1440,
        record_as_minutes=rng.choice([None, 480]),
        first_last_only=rng.random() < 0.6,
        late_permitted_minutes=rng.randint(0, 10),
        late_absence_minutes=rng.choice([None, 60]),
        early_permitted_minutes=rng.randint(0, 10),
        rests=rests,
    )


def _world(session: Session, rng: random.Random) -> None:
    root = Department(name="Root")
    session.add(root)
    session.flush()
    children = [Department(name=f"D{i}", parent_id=root.id) for i in range(2)]
    session.add_all(children)
    session.flush()
    periods = [
        _fixed(rng, "morning", 6 * 60, 240),
        _fixed(rng, "afternoon", 13 * 60, 240),
        _fixed(rng, "night", 22 * 60, 480),  # crosses midnight
        AttendancePeriod(
            name="flex",
            kind="flexible",
            required_minutes=rng.randint(120, 480),
            day_change_minute=rng.randrange(1440),
            first_last_only=rng.random() < 0.5,
            overtime_beyond_required=rng.random() < 0.5,
        ),
        AttendancePeriod(name="off", kind="rest"),
    ]
    session.add_all(periods)
    session.flush()
    m, a, n, f, r = (p.id for p in periods)
    days = [[m], [m, a], [a], [n], [f], [r], []]
    shifts = []
    for i in range(3):
        mode, cycles = rng.choice(["day", "week"]), rng.randint(1, 3)
        length = cycles * (7 if mode == "week" else 1)
        shifts.append(
            AttendanceShift(
                name=f"S{i}",
                start_date=FIRST + dt.timedelta(days=rng.randint(-5, 5)),
                cycle_mode=mode,
                cycles=cycles,
                arrangement={str(k): rng.choice(days) for k in range(length)},
            )
        )
    session.add_all(shifts)
    session.flush()
    for dept in [root, *children]:
        if rng.random() < 0.8:
            session.add(_assignment(rng, rng.choice(shifts).id, department_id=dept.id))
    for i in range(16):
        person = Person(
            user_id=f"u{i:02d}",
            name=f"P{i}",
            department_id=rng.choice([root, *children]).id,
            valid_from=_instant(rng, dt.datetime(2000, 1, 1, tzinfo=UTC)),
            valid_to=_instant(rng, dt.datetime(2099, 1, 1, tzinfo=UTC), late=True),
            employment_date=_instant(rng, None),
            termination_date=_instant(rng, None, late=True),
        )
        session.add(person)
        session.flush()
        if rng.random() < 0.3:
            session.add(_assignment(rng, rng.choice(shifts).id, person_id=person.id))
        if rng.random() < 0.3:
            start = FIRST + dt.timedelta(days=rng.randint(0, 15))
            kind = rng.choice(["leave", "business_trip"])
            end = start + dt.timedelta(days=rng.randint(0, 4))
            session.add(
                AttendanceException(person_id=person.id, kind=kind, start_date=start, end_date=end)
            )
        _punches(session, rng, person.user_id)
    session.add(Holiday(day=FIRST + dt.timedelta(days=rng.randint(0, 20)), name="Feast"))
    session.flush()


def _assignment(rng: random.Random, shift_id: int, **target: int) -> ShiftAssignment:
    start = FIRST + dt.timedelta(days=rng.randint(-3, 10))
    end = start + dt.timedelta(days=rng.randint(3, 30))
    return ShiftAssignment(shift_id=shift_id, start_date=start, end_date=end, **target)


def _instant(rng: random.Random, default: dt.datetime | None, late: bool = False) -> Any:
    if rng.random() < 0.6:
        return default
    day = FIRST + dt.timedelta(days=rng.randint(8, 20) if late else rng.randint(-2, 12))
    return dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), UTC)


def _punches(session: Session, rng: random.Random, user_id: str) -> None:
    start = dt.datetime.combine(FIRST - dt.timedelta(days=1), dt.time(), UTC)
    for _ in range(rng.randint(20, 70)):
        at = start + dt.timedelta(seconds=rng.randrange(23 * 86400))
        session.add(AccessRecord(event_time=at, user_id=user_id, success=rng.random() < 0.95))


def _scalar(session: Session) -> dict[tuple[int, dt.date], tuple[Any, ...]]:
    """The reference: plan and evaluate each person-day one at a time."""
    ctx = compute.load_context(session)
    punches: dict[str, list[dt.datetime]] = defaultdict(list)
    query = select(AccessRecord.user_id, AccessRecord.event_time).where(AccessRecord.success)
    for user_id, at in session.execute(query):
        punches[user_id].append(at.astimezone(UTC).replace(tzinfo=None))
    expected = {}
    one = dt.timedelta(days=1)
    for person in compute.load_persons(session):
        times = sorted(punches[person.user_id])
        day = FIRST
        while day <= LAST:
            kind, periods = ctx.plan(person, day)
            if kind != "unscheduled":
                near = [t for t in times if day - one <= t.date() <= day + one]
                if kind != "shift":
                    outcome = DayOutcome(kind)
                else:
                    outcome = evaluate_person_day(day, periods, near)
                own = [t.time().isoformat("seconds") for t in times if t.date() == day]
                expected[(person.id, day)] = _columns(outcome, own)
            day += one
    return expected


def _columns(outcome: DayOutcome, own: list[str]) -> tuple[Any, ...]:
    detail = [
        {
            "name": p.name,
            "status": p.status,
            "check_in": p.check_in.time().isoformat("seconds") if p.check_in else None,
            "check_out": p.check_out.time().isoformat("seconds") if p.check_out else None,
            "late_minutes": p.late_minutes,
            "early_minutes": p.early_minutes,
            "work_minutes": p.work_minutes,
        }
        for p in outcome.periods
    ]
    sums = ("due_minutes", "work_minutes", "overtime_minutes", "late_minutes", "early_minutes")
    return (
        outcome.status,
        *(outcome.total(name) for name in sums),
        outcome.late_count,
        outcome.early_count,
        outcome.absence_days,
        own,
        detail,
    )


def _stored(session: Session) -> dict[tuple[int, dt.date], tuple[Any, ...]]:
    session.expire_all()
    return {
        (r.person_id, r.day): (
            r.status,
            r.due_minutes,
            r.work_minutes,
            r.overtime_minutes,
            r.late_minutes,
            r.early_minutes,
            r.late_count,
            r.early_count,
            r.absence_days,
            r.punches,
            r.detail,
        )
        for r in session.scalars(select(AttendanceResult))
    }


@pytest.mark.parametrize("seed", range(3))
def test_platform_engine_equals_scalar_reference(session: Session, seed: int) -> None:
    rng = random.Random(seed)
    _world(session, rng)
    expected = _scalar(session)
    assert len(expected) > 100
    assert {row[0] for row in expected.values()} >= {"normal", "absent", "rest", "abnormal"}
    compute.compute_range(session=session, start=FIRST, end=LAST)
    assert _stored(session) == expected
    # Recomputing some pairs (the hooks' and services' path) gives the same rows.
    pairs = rng.sample(sorted(expected), 40)
    compute.compute_person_days(session, pairs)
    assert _stored(session) == expected


def test_unpacked_punches_and_many_written_batches_equal_the_scalar_reference(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ids past the packing limit read two integers a punch; batches of 7 persons go through
    the writer thread one after the other."""
    rng = random.Random(7)
    _world(session, rng)
    expected = _scalar(session)
    monkeypatch.setattr(store, "PACK_LIMIT", 1)
    monkeypatch.setattr(compute, "BATCH", 7)
    persons = compute.load_persons(session)
    assert len(persons) > 2 * compute.BATCH
    assert compute.compute_range(session=session, start=FIRST, end=LAST) == len(expected)
    assert _stored(session) == expected


def test_a_failed_write_raises_where_the_month_was_handed_over(session: Session) -> None:
    _world(session, random.Random(3))
    compute.compute_range(session=session, start=FIRST, end=LAST)
    ctx = compute.load_context(session)
    persons = compute.load_persons(session)
    days = [FIRST + dt.timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    punches = store.load_punches(session, ctx, persons, compute.local_bounds(ctx, FIRST, LAST))
    month = engine.evaluate_month(ctx, persons, days, punches)
    refused = (sqlite3.IntegrityError, psycopg.errors.IntegrityError)  # the drivers' own
    with pytest.raises(refused), store.Writer(session, compute.utcnow()) as writer:
        writer.add(month)  # the days are stored already: the unique (person, day) refuses
    session.rollback()
