"""The NumPy platform-period engine gives exactly the scalar `evaluate_person_day` results."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from openpss.attendance.bulk import EPOCH, SECONDS_PER_DAY
from openpss.attendance.bulk_periods import (
    DAY_STATUSES,
    KIND_SHIFT,
    PERIOD_STATUSES,
    PeriodTable,
    Plan,
    Punches,
    evaluate_slots,
    sum_days,
)
from openpss.attendance.periods import (
    DayOutcome,
    FixedPeriod,
    FlexiblePeriod,
    RestBreak,
    evaluate_person_day,
)

FIRST = dt.date(2024, 3, 1)
DAYS = 8
PERSONS = 12


def random_rest(rng: random.Random, start: int, span: int, k: int) -> RestBreak:
    begin = (start + rng.randrange(max(span, 1))) % 1440
    length = rng.randint(5, 120)
    validity = rng.random() < 0.5
    return RestBreak(
        f"r{k}",
        begin,
        (begin + length) % 1440,
        rng.randint(1, length),
        (begin - rng.randint(0, 30)) % 1440 if validity else None,
        (begin + length + rng.randint(0, 30)) % 1440 if validity else None,
        auto_deduction=rng.random() < 0.7,
        must_check=rng.random() < 0.3,
        transfer_unused=rng.random() < 0.5,
    )


def random_fixed(rng: random.Random, name: str) -> FixedPeriod:
    start = rng.randrange(1440)
    span = rng.choice([60, 240, 480, 540, 720, 1439])
    end = (start + span) % 1440
    before, after = rng.randint(0, 240), rng.randint(0, 240)
    rests = tuple(random_rest(rng, start, span, k) for k in range(rng.choice([0, 0, 1, 2, 3])))
    return FixedPeriod(
        name,
        start,
        end,
        (start - before) % 1440,
        (end + after) % 1440,
        record_as_minutes=rng.choice([None, None, 480, 240]),
        first_last_only=rng.random() < 0.6,
        late_permitted_minutes=rng.randint(0, 15),
        late_absence_minutes=rng.choice([None, 30, 120]),
        early_permitted_minutes=rng.randint(0, 15),
        rests=rests,
    )


def random_flexible(rng: random.Random, name: str) -> FlexiblePeriod:
    return FlexiblePeriod(
        name,
        rng.randint(60, 600),
        rng.randrange(1440),
        first_last_only=rng.random() < 0.5,
        overtime_beyond_required=rng.random() < 0.5,
    )


def random_day_periods(rng: random.Random, pool: list[FixedPeriod | FlexiblePeriod]) -> list[int]:
    choice = rng.random()
    if choice < 0.15:
        return []
    if choice < 0.35:
        return [rng.randrange(len(pool))]
    return sorted(rng.sample(range(len(pool)), rng.randint(1, 3)))


def random_punches(rng: random.Random) -> dict[int, list[dt.datetime]]:
    start = dt.datetime.combine(FIRST - dt.timedelta(days=1), dt.time())
    punches: dict[int, list[dt.datetime]] = {p: [] for p in range(PERSONS)}
    for _ in range(PERSONS * DAYS * 6):
        person = rng.randrange(PERSONS)
        at = start + dt.timedelta(seconds=rng.randrange((DAYS + 2) * SECONDS_PER_DAY))
        punches[person].append(at)
        if rng.random() < 0.3:  # pairs close together, inside one window
            punches[person].append(at + dt.timedelta(seconds=rng.randrange(4 * 3600)))
    return punches


def scalar_day(
    day: dt.date,
    periods: list[FixedPeriod | FlexiblePeriod],
    times: list[dt.datetime],
    now: dt.datetime | None,
) -> DayOutcome:
    near = [
        t for t in times if day - dt.timedelta(days=1) <= t.date() <= day + dt.timedelta(days=1)
    ]
    return evaluate_person_day(day, periods, near, now)


@pytest.mark.parametrize("seed", range(8))
def test_bulk_periods_equal_scalar_on_random_data(seed: int) -> None:
    """Guards the platform's compute path: every period option, any punches, an open `now`."""
    rng = random.Random(seed)
    pool: list[FixedPeriod | FlexiblePeriod] = [
        random_fixed(rng, f"f{k}") if k % 3 else random_flexible(rng, f"x{k}") for k in range(9)
    ]
    table = PeriodTable.of(pool)
    punches = random_punches(rng)
    now = None
    if seed % 2:
        now = dt.datetime.combine(FIRST + dt.timedelta(days=DAYS - 2), dt.time()) + dt.timedelta(
            seconds=rng.randrange(2 * SECONDS_PER_DAY)
        )
    rows: list[tuple[int, int, list[int]]] = [
        (p, d, random_day_periods(rng, pool)) for p in range(PERSONS) for d in range(DAYS)
    ]
    plan = Plan(
        person=np.array([p for p, _, _ in rows], dtype=np.int64),
        day=np.array([d for _, d, _ in rows], dtype=np.int64),
        kind=np.full(len(rows), KIND_SHIFT, dtype=np.int64),
        slot_row=np.array([r for r, (_, _, ids) in enumerate(rows) for _ in ids], dtype=np.int64),
        slot_period=np.array([i for _, _, ids in rows for i in ids], dtype=np.int64),
    )
    persons = np.array([p for p, times in punches.items() for _ in times], dtype=np.int64)
    seconds = np.array(
        [
            (t.date() - EPOCH).days * SECONDS_PER_DAY + t.hour * 3600 + t.minute * 60 + t.second
            for times in punches.values()
            for t in times
        ],
        dtype=np.int64,
    )
    keys = Punches.of(persons, seconds, FIRST, DAYS)
    slots = evaluate_slots(table, keys, plan, now)
    days = sum_days(plan, slots)
    clock = keys.keys % SECONDS_PER_DAY
    slot = 0
    statuses = set()
    for r, (p, d, ids) in enumerate(rows):
        day = FIRST + dt.timedelta(days=d)
        expected = scalar_day(day, [pool[i] for i in ids], punches[p], now)
        assert DAY_STATUSES[days.status[r]] == expected.status, (seed, r)
        assert days.due[r] == expected.total("due_minutes")
        assert days.work[r] == expected.total("work_minutes"), (seed, r, expected)
        assert days.overtime[r] == expected.total("overtime_minutes")
        assert days.late[r] == expected.total("late_minutes")
        assert days.early[r] == expected.total("early_minutes")
        assert (days.late_count[r], days.early_count[r]) == (
            expected.late_count,
            expected.early_count,
        )
        assert days.absence_days[r] == expected.absence_days
        for outcome in expected.periods:
            statuses.add(outcome.status)
            assert PERIOD_STATUSES[slots.status[slot]] == outcome.status, (seed, r, outcome)
            for index, at in (
                (slots.check_in[slot], outcome.check_in),
                (slots.check_out[slot], outcome.check_out),
            ):
                seen = None if index < 0 else int(clock[index])
                want = None if at is None else at.hour * 3600 + at.minute * 60 + at.second
                assert seen == want, (seed, r, outcome)
            slot += 1
    assert slot == slots.status.size
    assert {"normal", "absent", "late", "early"} <= statuses
    if now is not None:
        assert "in_progress" in statuses
