"""Platform periods and shifts (manual 3.8-3.9) in the pure core."""

from __future__ import annotations

import datetime as dt

import pytest

from openpss.attendance import RuleError
from openpss.attendance.periods import (
    CycleShift,
    FixedPeriod,
    FlexiblePeriod,
    RestBreak,
    RestPeriodType,
    check_day_periods,
    day_window,
    evaluate_person_day,
)
from openpss.attendance.terminal import parse_hhmm as m

DAY = dt.date(2024, 3, 4)  # a Monday


def at(text: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(text))


# Manual figure 3-14: 08:30-17:30, record as 540, valid 06:30-19:30, late 5 / absence 120 / early 5
OFFICE = FixedPeriod("Office", m("08:30"), m("17:30"), m("06:30"), m("19:30"), 540, True, 5, 120, 5)


def test_fixed_period_late_early_and_work() -> None:
    (p,) = evaluate_person_day(DAY, [OFFICE], [at("08:36"), at("12:00"), at("17:24")]).periods
    assert (p.status, p.late_minutes, p.early_minutes) == ("late_early", 1, 1)
    assert p.work_minutes == 17 * 60 + 24 - (8 * 60 + 36)
    assert p.due_minutes == 540


def test_late_over_the_limit_is_absence() -> None:
    outcome = evaluate_person_day(DAY, [OFFICE], [at("10:31"), at("17:30")])
    assert outcome.status == "absent" and outcome.absence_days == 1.0
    on_limit = evaluate_person_day(DAY, [OFFICE], [at("10:30"), at("17:30")])
    assert on_limit.periods[0].late_minutes == 115


def test_punches_outside_the_valid_windows_do_not_count() -> None:
    outcome = evaluate_person_day(DAY, [OFFICE], [at("06:29"), at("19:31")])
    assert outcome.status == "absent"
    assert evaluate_person_day(DAY, [OFFICE], [at("06:30"), at("19:30:59")]).status == "normal"


def test_period_crossing_midnight() -> None:
    night = FixedPeriod("Night", m("22:00"), m("06:00"), m("21:00"), m("07:00"))
    assert night.span_minutes == 480
    nxt = DAY + dt.timedelta(days=1)
    (p,) = evaluate_person_day(DAY, [night], [at("21:55"), at("06:05", nxt)]).periods
    assert (p.status, p.work_minutes) == ("normal", 480)
    assert day_window(DAY, [night]) == (at("21:00"), at("07:00:59", nxt))


def test_pairing_multiple_records() -> None:
    pairing = FixedPeriod(
        "Pairs", m("09:00"), m("17:00"), m("08:00"), m("18:00"), first_last_only=False
    )
    punches = [at("09:00"), at("11:00"), at("13:00"), at("17:00")]
    (p,) = evaluate_person_day(DAY, [pairing], punches).periods
    assert p.work_minutes == 120 + 240
    (first_last,) = evaluate_person_day(DAY, [OFFICE], punches).periods
    assert first_last.work_minutes == 17 * 60 - 9 * 60


def test_rest_auto_deduction_and_checked_rest() -> None:
    lunch = RestBreak("Lunch", m("12:00"), m("13:00"), 60)
    period = FixedPeriod("D", m("09:00"), m("18:00"), m("08:00"), m("19:00"), rests=(lunch,))
    (p,) = evaluate_person_day(DAY, [period], [at("09:00"), at("18:00")]).periods
    assert p.work_minutes == 8 * 60
    checked = RestBreak(
        "Lunch",
        m("12:00"),
        m("13:00"),
        60,
        m("11:30"),
        m("13:30"),
        must_check=True,
        transfer_unused=True,
    )
    period = FixedPeriod("D", m("09:00"), m("18:00"), m("08:00"), m("19:00"), rests=(checked,))
    punches = [at("09:00"), at("12:00"), at("12:40"), at("18:00")]
    (p,) = evaluate_person_day(DAY, [period], punches).periods
    assert p.work_minutes == 9 * 60 - 40  # unused 20 minutes transferred to work time
    with pytest.raises(RuleError, match="rest minutes must be 1-60"):
        RestBreak("Long", m("12:00"), m("13:00"), 61)


def test_flexible_period() -> None:
    flexible = FlexiblePeriod("Flex", 480, m("04:00"), True, True)
    (p,) = evaluate_person_day(DAY, [flexible], [at("10:00"), at("19:30")]).periods
    assert (p.status, p.work_minutes, p.overtime_minutes) == ("normal", 480, 90)
    nxt = DAY + dt.timedelta(days=1)
    (short,) = evaluate_person_day(DAY, [flexible], [at("20:00"), at("03:59", nxt)]).periods
    assert (short.status, short.early_minutes) == ("early", 1)


def test_rest_type_and_empty_days_are_rest() -> None:
    assert evaluate_person_day(DAY, [RestPeriodType()], []).status == "rest"
    assert evaluate_person_day(DAY, [], [at("09:00")]).status == "rest"


def test_day_rules_of_the_manual() -> None:
    a = FixedPeriod("A", m("08:00"), m("12:00"), m("07:00"), m("12:30"))
    b = FixedPeriod("B", m("11:59"), m("17:00"), m("11:30"), m("18:00"))
    with pytest.raises(RuleError, match="starts before period 'A' ends"):
        check_day_periods([a, b])
    many = [FixedPeriod(str(i), i * 60, i * 60 + 30, i * 60, i * 60 + 40) for i in range(9)]
    with pytest.raises(RuleError, match="at most 8"):
        check_day_periods(many)
    check_day_periods(many[:8])


def test_week_and_day_cycles() -> None:
    week = CycleShift("W", dt.date(2024, 3, 6), "week", 1, {0: (OFFICE,), 2: (OFFICE,)})
    assert week.length == 7
    assert week.periods_on(dt.date(2024, 3, 6)) == (OFFICE,)  # Wednesday
    assert week.periods_on(dt.date(2024, 3, 11)) == (OFFICE,)  # next Monday
    assert week.periods_on(dt.date(2024, 3, 4)) == ()  # before the start date
    day = CycleShift("D", dt.date(2024, 3, 1), "day", 3, {1: (OFFICE,)})
    assert [bool(day.periods_on(dt.date(2024, 3, d))) for d in range(1, 8)] == [
        False,
        True,
        False,
        False,
        True,
        False,
        False,
    ]
    with pytest.raises(RuleError, match="outside the cycle"):
        CycleShift("X", DAY, "day", 2, {2: (OFFICE,)})


def test_open_window_with_a_check_in_is_in_progress_not_absent() -> None:
    """Issue 8.3: a valid check-in today must not read 'absent' while the window is open."""
    checked_in = [at("08:31")]
    during = evaluate_person_day(DAY, [OFFICE], checked_in, now=at("11:00"))
    assert during.status == "in_progress" and during.absence_days == 0.0
    (p,) = during.periods
    assert (p.status, p.check_in, p.late_minutes, p.due_minutes) == (
        "in_progress",
        at("08:31"),
        0,
        540,
    )
    closed = evaluate_person_day(DAY, [OFFICE], checked_in, now=at("19:31"))
    assert closed.status == "absent"  # the valid check-out window (to 19:30:59) has closed
    on_edge = evaluate_person_day(DAY, [OFFICE], checked_in, now=at("19:30:59"))
    assert on_edge.status == "in_progress"


def test_in_progress_day_keeps_finished_periods() -> None:
    morning = FixedPeriod("AM", m("08:00"), m("12:00"), m("07:00"), m("12:30"))
    evening = FixedPeriod("PM", m("13:00"), m("17:00"), m("12:31"), m("18:00"))
    outcome = evaluate_person_day(
        DAY, [morning, evening], [at("08:10"), at("12:00"), at("13:00")], now=at("14:00")
    )
    assert outcome.status == "in_progress"
    assert [p.status for p in outcome.periods] == ["late", "in_progress"]
    assert outcome.total("late_minutes") == 10 and outcome.absence_days == 0.0


def test_too_wide_windows_say_which_time_to_change() -> None:
    """Issue 8.14: "windows are too wide" did not say what to fix."""
    with pytest.raises(RuleError) as wide:
        FixedPeriod("Day", m("09:00"), m("18:00"), m("09:30"), m("17:00"))
    assert str(wide.value) == (
        "period 'Day': the valid check-in/out time spans more than 48 hours; set valid check-in "
        "from (now 09:30) at or before work start 09:00 and valid check-out until (now 17:00) "
        "at or after work end 18:00"
    )
