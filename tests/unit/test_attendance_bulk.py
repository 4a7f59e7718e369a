"""The NumPy bulk path gives exactly the scalar engine's results."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from openpss.attendance import Period, Rules, Shift, evaluate
from openpss.attendance.bulk import (
    ScheduleMatrix,
    drop_repeats,
    evaluate_bulk,
    evaluate_rules,
    punch_arrays,
)

FIRST = dt.date(2026, 11, 1)
DAYS = 10


def random_rules(rng: random.Random, users: int, recheck: int) -> Rules:
    shifts = {
        1: Shift(
            (Period.parse("09:00", "12:00"), Period.parse("14:00", "17:30")),
            Period.parse("18:45", "20:00"),
        ),
        2: Shift((Period.parse("06:00", "14:00"),)),
        3: Shift((Period.parse("08:30", "12:00"), Period.parse("12:45", "16:59"))),
        24: Shift((Period.parse("13:00", "22:00"),), Period.parse("22:31", "23:30")),
    }
    codes = [0, 1, 2, 3, 24, 25, 26]
    schedules = {
        f"u{u}": {
            FIRST + dt.timedelta(days=d): rng.choice(codes)
            for d in range(DAYS)
            if rng.random() < 0.9
        }
        for u in range(users)
    }
    return Rules(
        shifts=shifts,
        schedules=schedules,
        late_allowance_minutes=rng.randint(0, 10),
        early_allowance_minutes=rng.randint(0, 10),
        recheck_interval_minutes=recheck,
    )


def random_punches(rng: random.Random, users: int) -> list[tuple[str, dt.datetime]]:
    start = dt.datetime.combine(FIRST - dt.timedelta(days=1), dt.time())
    punches = []
    for _ in range(users * 40):
        user = f"u{rng.randrange(users + 2)}"  # two users without a schedule
        at = start + dt.timedelta(seconds=rng.randrange((DAYS + 2) * 86400))
        punches.append((user, at))
        if rng.random() < 0.2:  # bursts that exercise the recheck interval
            punches.append((user, at + dt.timedelta(seconds=rng.randrange(400))))
    return punches


@pytest.mark.parametrize("seed", range(6))
def test_bulk_equals_scalar_on_random_data(seed: int) -> None:
    rng = random.Random(seed)
    rules = random_rules(rng, users=30, recheck=[0, 3, 9][seed % 3])
    punches = random_punches(rng, users=30)
    matrix = ScheduleMatrix.from_rules(rules, FIRST, FIRST + dt.timedelta(days=DAYS - 1))
    users, seconds = punch_arrays(matrix, punches)
    bulk = evaluate_bulk(rules, matrix, users, seconds)
    expected = evaluate(rules, punches)
    assert len(expected) > 200
    assert bulk.to_day_results(rules, matrix) == expected
    assert [r.work_hours for r in expected] == (bulk.work_tenths / 10).tolist()
    assert [r.absence_days for r in expected] == (bulk.absence_halves / 2).tolist()


def test_drop_repeats_follows_the_last_accepted_punch() -> None:
    # interval 180 s: 0 kept, 100 repeat, 200 kept (200 s after 0), 300 repeat, 500 kept.
    key = np.array([0, 100, 200, 300, 500], dtype=np.int64)
    assert drop_repeats(key, 180, 10_000).tolist() == [0, 200, 500]
    # The same seconds for two different users are not repeats of each other.
    two_users = np.array([5, 10_005], dtype=np.int64)
    assert drop_repeats(two_users, 180, 10_000).tolist() == [5, 10_005]


def test_punches_outside_the_matrix_are_ignored() -> None:
    rules = Rules(shifts={1: Shift((Period.parse("09:00", "17:00"),))}, schedules={"a": {FIRST: 1}})
    matrix = ScheduleMatrix.from_rules(rules, FIRST, FIRST)
    punches = [
        ("a", dt.datetime(2026, 10, 31, 9)),
        ("zz", dt.datetime(2026, 11, 1, 9)),
        ("a", dt.datetime(2026, 11, 1, 9)),
        ("a", dt.datetime(2026, 11, 1, 17)),
    ]
    users, seconds = punch_arrays(matrix, punches)
    bulk = evaluate_bulk(rules, matrix, users, seconds)
    assert bulk.work_tenths.tolist() == [80]
    assert bulk.absence_halves.tolist() == [0]


@pytest.mark.parametrize("seed", range(4))
def test_evaluate_rules_is_evaluate_on_the_bulk_engine(seed: int) -> None:
    """Guards the terminal's and `openpss attendance evaluate`'s path (bulk.evaluate_rules)."""
    rng = random.Random(100 + seed)
    rules = random_rules(rng, users=20, recheck=[0, 5][seed % 2])
    punches = random_punches(rng, users=20)
    assert evaluate_rules(rules, punches) == evaluate(rules, punches)
    first, last = FIRST + dt.timedelta(days=2), FIRST + dt.timedelta(days=6)
    month = [(u, at) for u, at in punches if first <= at.date() <= last]
    expected = [r for r in evaluate(rules, month) if first <= r.date <= last]
    assert evaluate_rules(rules, month, first, last) == expected
    assert evaluate_rules(Rules(shifts={}), punches) == []
