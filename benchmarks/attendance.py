"""Attendance evaluation speed: a month of 4 punches a day for 10,000 and 100,000 employees.

Prints punches per second and total seconds of the NumPy bulk engine (same results as the
scalar engine; see tests/unit/test_attendance_bulk.py), the scalar engine on a sample, and the
time for the platform to compute and store a month of results (SQLite, temporary file).

    python benchmarks/attendance.py                 # 10,000 and 100,000; platform 1,000
    python benchmarks/attendance.py --quick         # 10,000 only; platform 200
    python benchmarks/attendance.py --platform-employees 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from openpss.attendance import Period, Rules, Shift, evaluate
from openpss.attendance.bulk import EPOCH, SECONDS_PER_DAY, ScheduleMatrix, evaluate_bulk

FIRST = dt.date(2026, 11, 1)
DAYS = 30
# The manual's example shift (table 2-13).
SHIFT = Shift(
    (Period.parse("09:00", "12:00"), Period.parse("14:00", "17:30")),
    Period.parse("18:45", "20:00"),
)
BASE_SECONDS = np.array(
    [8 * 3600 + 50 * 60, 12 * 3600 + 5 * 60, 13 * 3600 + 55 * 60, 17 * 3600 + 35 * 60]
)


def month_of_punches(employees: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """4 punches a day with up to +-20 minutes of jitter, shuffled like a device upload."""
    rng = np.random.default_rng(seed)
    per_user = DAYS * 4
    users = np.repeat(np.arange(employees, dtype=np.int64), per_user)
    days = np.tile(np.repeat(np.arange(DAYS, dtype=np.int64), 4), employees)
    base = np.tile(BASE_SECONDS, employees * DAYS)
    jitter = rng.integers(-1200, 1200, size=users.size)
    seconds = ((FIRST - EPOCH).days + days) * SECONDS_PER_DAY + base + jitter
    order = rng.permutation(users.size)
    return users[order], seconds[order]


def engine_rules(employees: int) -> tuple[Rules, ScheduleMatrix]:
    """Rules with shift 1 every day, and the dense schedule matrix for the month."""
    rules = Rules(shifts={1: SHIFT}, late_allowance_minutes=5, early_allowance_minutes=5)
    codes = np.ones((employees, DAYS), dtype=np.int8)
    matrix = ScheduleMatrix([str(1000 + u) for u in range(employees)], FIRST, codes)
    return rules, matrix


def bench_engine(employees: int) -> None:
    """Time evaluate_bulk on one month for `employees`."""
    rules, matrix = engine_rules(employees)
    users, seconds = month_of_punches(employees)
    started, cpu = time.perf_counter(), time.process_time()
    result = evaluate_bulk(rules, matrix, users, seconds)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"bulk engine  {employees:>7,} employees  {users.size:>11,} punches  "
        f"{elapsed:6.2f} s (cpu {cpu:5.2f} s)  {users.size / elapsed:>12,.0f} punches/s  "
        f"({len(result):,} person-days, mean work {result.work_tenths.mean() / 10:.2f} h)"
    )


def bench_scalar(employees: int) -> None:
    """Time the scalar engine on a sample, for comparison."""
    rules, matrix = engine_rules(employees)
    rules.schedules = {
        uid: {FIRST + dt.timedelta(days=d): 1 for d in range(DAYS)} for uid in matrix.user_ids
    }
    users, seconds = month_of_punches(employees)
    punches = [
        (matrix.user_ids[u], dt.datetime.combine(EPOCH, dt.time()) + dt.timedelta(seconds=int(s)))
        for u, s in zip(users.tolist(), seconds.tolist(), strict=True)
    ]
    started = time.perf_counter()
    evaluate(rules, punches)
    elapsed = time.perf_counter() - started
    print(
        f"scalar engine {employees:>6,} employees  {len(punches):>11,} punches  "
        f"{elapsed:6.2f} s  {len(punches) / elapsed:>12,.0f} punches/s"
    )


def _seed_platform(factory: Any, employees: int, first: dt.date, days: int) -> None:
    """One department, `employees` persons on a Mon-Fri shift, 4 punches per working day."""
    from sqlalchemy import insert

    from openpss.platform.attendance import shifts
    from openpss.platform.attendance.models import ShiftAssignment
    from openpss.platform.attendance.schemas import PeriodCreate, ShiftCreate
    from openpss.platform.people.models import Department, Person
    from openpss.platform.records.models import AccessRecord
    from openpss.platform.security.audit import SYSTEM

    utc = dt.UTC
    with factory() as session:
        dept = Department(name="Bench")
        session.add(dept)
        session.flush()
        extra = {
            name: value
            for name, value in (
                ("valid_from", dt.datetime(2000, 1, 1, tzinfo=utc)),
                ("valid_to", dt.datetime(2099, 1, 1, tzinfo=utc)),
            )
            if hasattr(Person, name)
        }
        session.execute(
            insert(Person),
            [
                {"user_id": str(1000 + u), "name": f"P{u}", "department_id": dept.id, **extra}
                for u in range(employees)
            ],
        )
        period = shifts.create_period(
            session=session,
            actor=SYSTEM,
            data=PeriodCreate(
                name="Day",
                work_start="09:00",
                work_end="17:30",
                checkin_start="07:00",
                checkout_end="20:00",
                late_permitted_minutes=5,
                early_permitted_minutes=5,
                rests=[{"name": "Lunch", "start": "12:00", "end": "13:00", "minutes": 60}],
            ),
        )
        shift = shifts.create_shift(
            session=session,
            actor=SYSTEM,
            data=ShiftCreate(
                name="Week",
                start_date=first,
                cycle_mode="week",
                cycles=1,
                arrangement={i: [period.id] for i in range(5)},
            ),
        )
        session.add(
            ShiftAssignment(
                shift_id=shift.id,
                department_id=dept.id,
                start_date=first,
                end_date=first + dt.timedelta(days=days - 1),
            )
        )
        rng = np.random.default_rng(2)
        rows = []
        for d in range(days):
            day = first + dt.timedelta(days=d)
            if day.weekday() >= 5:
                continue
            base = dt.datetime.combine(day, dt.time(), utc)
            jitter = rng.integers(-1200, 1200, size=(employees, 4)).tolist()
            for u in range(employees):
                for k, s in enumerate(BASE_SECONDS.tolist()):
                    at = base + dt.timedelta(seconds=s + jitter[u][k])
                    rows.append({"user_id": str(1000 + u), "event_time": at, "source": "device"})
        for offset in range(0, len(rows), 50_000):
            session.execute(insert(AccessRecord), rows[offset : offset + 50_000])
        session.commit()


def bench_platform(employees: int) -> None:
    """Time the platform computing and storing a month of results on a fresh SQLite file."""
    from openpss.platform.attendance import compute
    from openpss.platform.db import make_engine, make_session_factory, migrate

    first, days = dt.date(2024, 3, 1), 31
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        migrate(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        started = time.perf_counter()
        _seed_platform(factory, employees, first, days)
        seeded = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        with factory() as session:
            stored = compute.compute_range(
                session=session, start=first, end=first + dt.timedelta(days=days - 1)
            )
            session.commit()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        engine.dispose()
    print(
        f"platform     {employees:>7,} employees  compute+store a month: {elapsed:6.2f} s "
        f"(cpu {cpu:5.2f} s)  "
        f"({stored:,} person-days, {stored / elapsed:,.0f}/s; seeding punches took {seeded:.1f} s)"
    )


def main() -> None:
    """Parse arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 employees only")
    parser.add_argument("--platform-employees", type=int, default=None)
    args = parser.parse_args()
    sizes = [10_000] if args.quick else [10_000, 100_000]
    for employees in sizes:
        bench_engine(employees)
    bench_scalar(200 if args.quick else 1000)
    platform = args.platform_employees or (200 if args.quick else 1000)
    bench_platform(platform)


if __name__ == "__main__":
    main()
