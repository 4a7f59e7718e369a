"""The terminal rules of manual 2.7, 2.15 and 2.16: every worked example and its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest

from openpss.attendance import (
    BUSINESS_TRIP,
    LEAVE,
    REST,
    DayResult,
    Period,
    PeriodResult,
    RuleError,
    Rules,
    Shift,
    UserSchedule,
    evaluate,
    evaluate_shift_day,
)
from openpss.attendance.terminal import parse_hhmm, truncate_tenths

DAY = dt.date(2026, 11, 2)
# Manual table 2-13: the example shift.
EXAMPLE = Shift(
    (Period.parse("09:00", "12:00"), Period.parse("14:00", "17:30")),
    Period.parse("18:45", "20:00"),
)


def times(*texts: str) -> list[dt.time]:
    return [dt.time.fromisoformat(t) for t in texts]


def day(shift: Shift, *texts: str, late: int = 5, early: int = 5) -> list[PeriodResult]:
    return list(
        evaluate_shift_day(shift, times(*texts), late_allowance=late, early_allowance=early)
    )


def rules(**kwargs: object) -> Rules:
    base: dict[str, object] = {
        "shifts": {1: EXAMPLE},
        "schedules": {"1001": {DAY: 1}},
        "late_allowance_minutes": 5,
        "early_allowance_minutes": 5,
    }
    base.update(kwargs)
    return Rules(**base)  # type: ignore[arg-type]


def run(r: Rules, *texts: str, user: str = "1001") -> list[DayResult]:
    return evaluate(r, [(user, dt.datetime.combine(DAY, t)) for t in times(*texts)])


def test_midpoint_split_even_interval() -> None:
    # 120-minute gap after 12:00: punch-out until 12:59, punch-in from 13:00.
    assert EXAMPLE.window_starts()[1] == parse_hhmm("13:00")
    assert EXAMPLE.window_of(parse_hhmm("12:59")) == 0
    assert EXAMPLE.window_of(parse_hhmm("13:00")) == 1


def test_midpoint_split_odd_interval() -> None:
    # 75-minute gap after 17:30: punch-out until 18:07, overtime punch-in from 18:08.
    assert EXAMPLE.window_starts()[2] == parse_hhmm("18:08")
    assert EXAMPLE.window_of(parse_hhmm("18:07")) == 1
    assert EXAMPLE.window_of(parse_hhmm("18:08")) == 2


def test_first_window_starts_at_midnight_and_last_ends_at_day_end() -> None:
    assert EXAMPLE.window_of(0) == 0
    assert EXAMPLE.window_of(1439) == 2
    p1, _, overtime = day(EXAMPLE, "00:00:00", "12:59:59", "18:08:00", "23:59:59")
    assert p1.check_in == dt.time(0, 0) and p1.check_out == dt.time(12, 59, 59)
    assert overtime.check_out == dt.time(23, 59, 59)


def test_one_minute_gap_splits_at_the_end_of_the_earlier_period() -> None:
    shift = Shift((Period.parse("09:00", "12:00"), Period.parse("12:01", "17:00")))
    assert shift.window_starts() == (0, parse_hhmm("12:01"))


def test_earliest_in_and_latest_out_win() -> None:
    p1, p2, _ = day(EXAMPLE, "08:50", "09:03", "11:58", "12:40", "13:10", "13:50", "17:40", "18:00")
    assert (p1.check_in, p1.check_out) == (dt.time(8, 50), dt.time(12, 40))
    assert (p2.check_in, p2.check_out) == (dt.time(13, 10), dt.time(18, 0))


def test_late_allowance_counts_whole_minutes() -> None:
    # Manual 2.7.3: start 08:00, allowance 5: 08:05:59 is normal, 08:06 is late by 1 minute.
    shift = Shift((Period.parse("08:00", "17:30"),))
    (normal,) = day(shift, "08:05:59", "17:30")
    (late,) = day(shift, "08:06:00", "17:30")
    assert normal.status == "normal" and normal.late_minutes == 0
    assert late.status == "late" and late.late_minutes == 1


def test_early_allowance_boundary() -> None:
    # Manual 2.7.3: end 17:30, allowance 5: 17:25 is not an early leave; 17:24 is 1 minute early.
    shift = Shift((Period.parse("08:00", "17:30"),))
    (ok,) = day(shift, "08:00", "17:25:00")
    (early,) = day(shift, "08:00", "17:24:59")
    assert ok.status == "normal"
    assert early.status == "early" and early.early_minutes == 1


def test_manual_abnormal_example() -> None:
    # Manual 2.15: 9:05, 11:54 and 17:00: early by 1 minute in period 1, 0.5 day absence.
    (result,) = run(rules(), "09:05", "11:54", "17:00")
    assert result.late_minutes == 0
    assert result.early_minutes == 1
    assert result.absence_days == 0.5
    assert [p.status for p in result.periods] == ["early", "missing", "none"]
    assert result.status == "abnormal"


def test_manual_normal_punch_times() -> None:
    # Manual table 2-14: 9:05, 11:55, 13:05, 17:25 are all normal.
    (result,) = run(rules(), "09:05:59", "11:55", "13:05:59", "17:25")
    assert result.status == "normal"
    assert (result.late_minutes, result.early_minutes) == (0, 0)


def test_manual_work_hours_example() -> None:
    # Manual 2.16: 8:00, 12:30, 15:00, 17:00 against 9:00-12:00 and 14:00-17:30 give 5 hours.
    (result,) = run(rules(), "08:00", "12:30", "15:00", "17:00")
    assert result.work_hours == 5.0


def test_manual_overtime_example_not_clipped() -> None:
    # Manual 2.16: overtime 18:20-19:30 is 1.1 hours (in before the session start still counts).
    (result,) = run(rules(), "09:00", "12:00", "14:00", "17:30", "18:20", "19:30")
    assert result.overtime_hours == 1.1
    assert result.work_hours == 6.5
    assert result.periods[2].late_minutes == 0
    (after_end,) = run(rules(), "18:50", "21:00")
    assert after_end.overtime_hours == 2.1


def test_work_hours_truncate_to_one_decimal() -> None:
    assert truncate_tenths(5) == 0.0
    assert truncate_tenths(6) == 0.1
    assert truncate_tenths(59) == 0.9
    assert truncate_tenths(70) == 1.1
    # 9:00-10:11 = 71 minutes -> 1.1 (not rounded to 1.2); seconds are dropped first.
    (result,) = run(rules(), "09:00:59", "10:11:59")
    assert result.work_hours == 1.1


def test_each_missing_period_is_half_a_day() -> None:
    (nothing,) = run(rules())
    assert nothing.absence_days == 1.0
    (single,) = run(rules(), "09:00")
    assert single.absence_days == 1.0
    assert single.periods[0].check_in == dt.time(9, 0)
    (half,) = run(rules(), "09:00", "12:00")
    assert half.absence_days == 0.5


def test_overtime_without_two_punches_is_no_overtime_and_no_absence() -> None:
    (result,) = run(rules(), "09:00", "12:00", "14:00", "17:30", "19:00")
    assert result.overtime_hours == 0.0
    assert result.absence_days == 0.0


@pytest.mark.parametrize(
    ("code", "status"), [(REST, "rest"), (BUSINESS_TRIP, "business_trip"), (LEAVE, "leave")]
)
def test_schedule_codes_without_a_shift(code: int, status: str) -> None:
    (result,) = run(rules(schedules={"1001": {DAY: code}}), "09:00", "17:30")
    assert result.status == status
    assert result.absence_days == 0.0 and result.work_hours == 0.0


def test_unscheduled_users_and_days_give_no_result() -> None:
    only_scheduled = run(rules(), "09:00", "17:30", user="9999")
    assert [r.user_id for r in only_scheduled] == ["1001"]
    results = evaluate(rules(), [("1001", dt.datetime(2026, 11, 3, 9, 0))])
    assert [r.date for r in results] == [DAY]


def test_department_schedule_mode() -> None:
    r = rules(
        schedules={},
        department_schedules={"10": {DAY: 1}},
        users={"2002": UserSchedule("10", "department"), "3003": UserSchedule("10", "user")},
    )
    results = run(r, "09:00", "12:00", "14:00", "17:30", user="2002")
    assert [(x.user_id, x.status) for x in results] == [("2002", "normal")]


def test_recheck_interval_drops_repeat_punches() -> None:
    # 12:58 ends period 1; 13:00 within 3 minutes is a repeat and never reaches period 2.
    r = rules(recheck_interval_minutes=3)
    (result,) = run(r, "09:00", "12:58", "13:00", "17:30")
    assert result.periods[1].check_in == dt.time(17, 30)
    assert result.absence_days == 0.5
    (exact,) = run(r, "09:00", "12:57", "13:00", "17:30")
    assert exact.absence_days == 0.0


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Period.parse("12:00", "09:00"), "must start before it ends"),
        (lambda: Period.parse("24:00", "25:00"), "out of range"),
        (lambda: Period.parse("9", "10:00"), "is not HH:MM"),
        (lambda: Shift(()), "1 or 2 duty periods"),
        (
            lambda: Shift((Period(60, 120), Period(100, 200))),
            "cannot overlap",
        ),
        (lambda: Shift((Period(60, 120), Period(120, 200))), "must start after"),
        (lambda: Shift((Period(60, 120),), Period(30, 50)), "must start after"),
        (lambda: Shift((Period(1, 2), Period(3, 4), Period(5, 6))), "1 or 2 duty periods"),
        (lambda: rules(shifts={25: EXAMPLE}), "outside 1-24"),
        (lambda: rules(schedules={"1001": {DAY: 2}}), "not configured"),
        (lambda: rules(schedules={"1001": {DAY: 27}}), r"is not 0 \(rest\)"),
        (lambda: rules(recheck_interval_minutes=10), "0-9 minutes"),
        (lambda: rules(late_allowance_minutes=-1), "0-1439"),
    ],
)
def test_rule_limits(build: object, message: str) -> None:
    with pytest.raises(RuleError, match=message):
        build()  # type: ignore[operator]


def test_twenty_four_shifts_allowed() -> None:
    shifts = {n: Shift((Period(60, 120),)) for n in range(1, 25)}
    assert len(rules(shifts=shifts).shifts) == 24
