"""Attendance evaluation speed: a month of 4 punches a day for 10,000 and 100,000 employees.

Prints punches per second and total seconds of the NumPy terminal engine (same results as the
scalar engine; see tests/unit/test_attendance_bulk.py), the scalar engine on a sample, and the
time for the platform to compute and store a month of results for 100,000 employees on SQLite
(temporary file) and on PostgreSQL (a throwaway cluster, as the tests start one). The platform
evaluates on `openpss.attendance.bulk_periods` (tests/unit/test_attendance_bulk_periods.py).

    python benchmarks/attendance.py                          # everything (target: <= 60 s each)
    python benchmarks/attendance.py --quick                  # 10,000 employees
    python benchmarks/attendance.py --platform-only --backend sqlite --employees 20000
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.postgres

from openpss.attendance import Period, Rules, Shift, evaluate
from openpss.attendance.bulk import (
    EPOCH,
    SECONDS_PER_DAY,
    ScheduleMatrix,
    evaluate_bulk,
)

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
    from openpss.platform.security.audit import SYSTEM

    utc = dt.UTC
    with factory() as session:
        dept = Department(name="Bench")
        session.add(dept)
        session.flush()
        valid = {
            "valid_from": dt.datetime(2000, 1, 1, tzinfo=utc),
            "valid_to": dt.datetime(2099, 1, 1, tzinfo=utc),
        }
        for offset in range(0, employees, 20_000):
            session.execute(
                insert(Person),
                [
                    {"user_id": str(1000 + u), "name": f"P{u}", "department_id": dept.id, **valid}
                    for u in range(offset, min(employees, offset + 20_000))
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
        session.flush()
        _insert_punches(session, employees, first, days)
        session.commit()


def _insert_punches(session: Any, employees: int, first: dt.date, days: int) -> None:
    """4 punches per working day through the DBAPI (COPY on PostgreSQL): seeding is not timed."""
    rng = np.random.default_rng(2)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
    users = [str(1000 + u) for u in range(employees)]
    cursor = connection.connection.cursor()
    columns = "event_time, user_id, card_no, method, attendance_state, success, source, received_at"
    for d in range(days):
        day = first + dt.timedelta(days=d)
        if day.weekday() >= 5:
            continue
        seconds = (BASE_SECONDS + rng.integers(-1200, 1200, size=(employees, 4))).tolist()
        stamp = day.isoformat()
        if postgres:
            lines = [
                f"{stamp} {clock[s]}+00\t{users[u]}\t\t\t\tt\tdevice\t{stamp} 00:00:00+00\n"
                for u in range(employees)
                for s in seconds[u]
            ]
            with cursor.copy(f"COPY access_record ({columns}) FROM STDIN") as copy:
                copy.write("".join(lines))
        else:
            rows = [
                (f"{stamp} {clock[s]}.000000", users[u], "", "", "", 1, "device", stamp)
                for u in range(employees)
                for s in seconds[u]
            ]
            cursor.executemany(
                f"INSERT INTO access_record ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
    cursor.close()


def bench_platform(employees: int, backend: str) -> None:
    """Time the platform computing and storing a month of results on a fresh database."""
    with tempfile.TemporaryDirectory() as tmp, _database(backend, Path(tmp)) as url:
        _bench_platform_on(url, employees, backend)


@contextlib.contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    """A SQLite file, or a throwaway PostgreSQL cluster (as the tests start one)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    from tests.support.postgres import find_bindir, throwaway_cluster

    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL server binaries not found: apt-get install postgresql")
    with throwaway_cluster(bindir) as cluster:
        yield cluster.url()


def _settle(engine: Any) -> None:
    """Flush the seeding out of the way of the timed part (WAL checkpoint / VACUUM ANALYZE)."""
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.dialect.name == "sqlite":
            connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        else:
            connection.execute(text("VACUUM ANALYZE"))


def _bench_platform_on(url: str, employees: int, backend: str) -> None:
    from openpss.platform.attendance import compute
    from openpss.platform.db import make_engine, make_session_factory, migrate

    first, days = dt.date(2024, 3, 1), 31
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    _seed_platform(factory, employees, first, days)
    _settle(engine)
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
        f"platform {backend:<10} {employees:>7,} employees  compute+store a month: "
        f"{elapsed:6.2f} s (cpu {cpu:5.2f} s)  ({stored:,} person-days, {stored / elapsed:,.0f}/s; "
        f"seeding {employees * 88:,} punches took {seeded:.1f} s; load average "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())})",
        flush=True,
    )


def main() -> None:
    """Parse arguments and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 employees everywhere")
    parser.add_argument(
        "--platform-employees",
        "--employees",
        type=int,
        default=None,
        help="employees of the platform figures (default 100,000; 10,000 with --quick)",
    )
    parser.add_argument(
        "--backend", choices=["sqlite", "postgresql", "both"], default="both", help="platform store"
    )
    parser.add_argument("--platform-only", action="store_true", help="skip the engine figures")
    args = parser.parse_args()
    if not args.platform_only:
        for employees in [10_000] if args.quick else [10_000, 100_000]:
            bench_engine(employees)
        bench_scalar(200 if args.quick else 1000)
    platform = args.platform_employees or (10_000 if args.quick else 100_000)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        bench_platform(platform, backend)


if __name__ == "__main__":
    main()
