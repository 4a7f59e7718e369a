"""Settings of the virtual attendance terminal (manual chapter 2.9-2.11), validated, JSON-able."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from openpss.attendance.punches import AttendanceState, EventMode
from openpss.attendance.terminal import RuleError, check_recheck_interval, parse_hhmm


class SettingsError(ValueError):
    """A setting outside what the manual allows."""


DEPARTMENT_COUNT = 20  # manual 2.5.3: "The Device supports 20 departments"
STATE_SWITCH_COUNT = 24  # manual 2.11.6: "up to 24 state switch time"
BELL_COUNT = 16  # rows of the Bell Time table (figure 2-15 shows the first five)
BELL_CYCLES = (
    "EveryDay",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
MAX_BELL_DURATION_S = 99  # the Duration(s) column holds two digits
MAX_KEEP_DOOR_OPEN_S = 600  # manual 2.11.5: 0 s-600 s
MIN_TZ_MINUTES, MAX_TZ_MINUTES = -12 * 60, 13 * 60  # manual 2.9: GMT-12:00 to GMT+13:00
DATE_FORMATS = ("YYYY-MM-DD", "MM-DD-YYYY", "DD-MM-YYYY")
VERIFICATION_METHODS = ("FP", "PWD", "Card", "FP/PWD/Card", "FP/PWD")  # manual 2.11.3
DEFAULT_IP, DEFAULT_MASK, DEFAULT_GATEWAY = "192.168.1.108", "255.255.255.0", "192.168.1.1"
DEFAULT_DEPARTMENTS = ("HQ", "PM1", "PM2")  # figure 2-9
NULL_STATE = "NULL"


def format_tz(minutes: int) -> str:
    """``GMT+08:00`` for 480."""
    sign = "-" if minutes < 0 else "+"
    return f"GMT{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_tz(text: str) -> int:
    """Minutes east of UTC for ``GMT+08:00`` (range GMT-12:00..GMT+13:00)."""
    match = re.fullmatch(r"(?:GMT|UTC)?([+-])(\d{1,2}):?(\d{2})", text.strip())
    if not match:
        raise SettingsError(f"time zone {text!r} is not like GMT+08:00")
    minutes = int(match[2]) * 60 + int(match[3])
    minutes = -minutes if match[1] == "-" else minutes
    if not MIN_TZ_MINUTES <= minutes <= MAX_TZ_MINUTES or int(match[3]) >= 60:
        raise SettingsError(f"time zone {text} is outside GMT-12:00 to GMT+13:00")
    return minutes


def check_hhmm(text: str, what: str) -> str:
    """Validate an ``HH:MM`` time of day."""
    try:
        parse_hhmm(text)
    except RuleError as exc:
        raise SettingsError(f"{what}: {exc}") from exc
    return text


def check_range(value: int, low: int, high: int, what: str) -> int:
    """Validate an integer range with a message naming the setting."""
    if not low <= value <= high:
        raise SettingsError(f"{what} must be {low}-{high}, not {value}")
    return value


def check_ipv4(text: str, what: str) -> str:
    """Validate a dotted IPv4 address."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        raise SettingsError(f"{what} {text!r} is not an IPv4 address")
    return text


@dataclass
class DstPoint:
    """Start or end of DST: by date (week=0, day = day of month) or by week (week 1-5 or -1
    for the last week, day = weekday 0=Sunday..6)."""

    month: int = 1
    week: int = 0
    day: int = 1
    hour: int = 0
    minute: int = 0

    def validate(self, what: str) -> None:
        """Check field ranges."""
        check_range(self.month, 1, 12, f"{what} month")
        if self.week not in (-1, 0, 1, 2, 3, 4, 5):
            raise SettingsError(f"{what} week must be 0 (by date), 1-5 or -1 (last)")
        if self.week == 0:
            check_range(self.day, 1, 31, f"{what} day of month")
        else:
            check_range(self.day, 0, 6, f"{what} weekday (0=Sunday)")
        check_range(self.hour, 0, 23, f"{what} hour")
        check_range(self.minute, 0, 59, f"{what} minute")

    def moment(self, year: int) -> dt.datetime:
        """The local standard time this point falls on in `year`."""
        if self.week == 0:
            day = min(self.day, _days_in_month(year, self.month))
            return dt.datetime(year, self.month, day, self.hour, self.minute)
        first = dt.date(year, self.month, 1)
        offset = (self.day - (first.isoweekday() % 7)) % 7
        dates = [first + dt.timedelta(days=offset + 7 * i) for i in range(5)]
        dates = [d for d in dates if d.month == self.month]
        chosen = dates[-1] if self.week == -1 else dates[min(self.week, len(dates)) - 1]
        return dt.datetime.combine(chosen, dt.time(self.hour, self.minute))


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


@dataclass
class Dst:
    """Daylight saving time (manual 2.9): off, or on by date / by week; one hour."""

    enabled: bool = False
    start: DstPoint = field(default_factory=lambda: DstPoint(month=3, week=-1, day=0, hour=2))
    end: DstPoint = field(default_factory=lambda: DstPoint(month=10, week=-1, day=0, hour=3))

    def active(self, standard_local: dt.datetime) -> bool:
        """True when DST applies at this local standard time."""
        if not self.enabled:
            return False
        start, end = self.start.moment(standard_local.year), self.end.moment(standard_local.year)
        if start <= end:
            return start <= standard_local < end
        return standard_local >= start or standard_local < end  # southern hemisphere


@dataclass
class Ntp:
    """NTP client settings (manual 2.9)."""

    enabled: bool = False
    address: str = ""
    port: int = 123
    update_period_min: int = 60

    def validate(self) -> None:
        """Check ranges; an enabled client needs a server address."""
        check_range(self.port, 1, 65535, "NTP port")
        check_range(self.update_period_min, 1, 65535, "NTP update period (min)")
        if self.enabled and not self.address:
            raise SettingsError("NTP is enabled but has no server IP")
        if self.address:
            check_ipv4(self.address, "NTP server IP")


@dataclass
class Network:
    """Communication settings (manual 2.10): stored, never applied to the host."""

    ip: str = DEFAULT_IP
    mask: str = DEFAULT_MASK
    gateway: str = DEFAULT_GATEWAY
    port: int = 37777

    def validate(self) -> None:
        """Check the addresses and port."""
        check_ipv4(self.ip, "IP")
        check_ipv4(self.mask, "mask")
        check_ipv4(self.gateway, "gateway")
        check_range(self.port, 1, 65535, "port")


@dataclass
class Bell:
    """One row of the Bell Time table (manual 2.11.1); duration 0 means the row is off."""

    time: str = "00:00"
    cycle: str = "EveryDay"
    duration_s: int = 0

    def validate(self, number: int) -> None:
        """Check time, cycle and duration."""
        check_hhmm(self.time, f"bell {number} time")
        if self.cycle not in BELL_CYCLES:
            raise SettingsError(f"bell {number} cycle must be one of {', '.join(BELL_CYCLES)}")
        check_range(self.duration_s, 0, MAX_BELL_DURATION_S, f"bell {number} duration (s)")


@dataclass
class StateSwitchRow:
    """One row of the State Switch Time table (manual 2.11.6)."""

    time: str = "00:00"
    state: str = NULL_STATE

    def validate(self, number: int) -> None:
        """Check the time and the state name."""
        check_hhmm(self.time, f"state switch {number} time")
        if self.state != NULL_STATE:
            try:
                AttendanceState(self.state)
            except ValueError as exc:
                names = ", ".join([NULL_STATE, *(s.value for s in AttendanceState)])
                raise SettingsError(f"state switch {number} state must be one of {names}") from exc


def _default_switches() -> list[StateSwitchRow]:
    rows = [StateSwitchRow("08:00", "CheckIn"), StateSwitchRow("17:30", "CheckOut")]
    return rows + [StateSwitchRow() for _ in range(STATE_SWITCH_COUNT - 2)]


def _default_departments() -> list[str]:
    return [*DEFAULT_DEPARTMENTS, *([""] * (DEPARTMENT_COUNT - len(DEFAULT_DEPARTMENTS)))]


@dataclass
class DeviceSettings:
    """Everything configurable on the terminal except users, shifts and schedules."""

    machine_name: str = "AttendanceTerminal"
    device_number: int = 1
    date_format: str = "YYYY-MM-DD"
    timezone_minutes: int = 0
    dst: Dst = field(default_factory=Dst)
    ntp: Ntp = field(default_factory=Ntp)
    network: Network = field(default_factory=Network)
    bells: list[Bell] = field(default_factory=lambda: [Bell() for _ in range(BELL_COUNT)])
    recheck_interval_min: int = 0
    verification_method: str = "FP/PWD/Card"
    event_mode: str = EventMode.auto_manual.value
    fixed_state: str = AttendanceState.check_in.value
    keep_door_open_s: int = 5
    state_switches: list[StateSwitchRow] = field(default_factory=_default_switches)
    late_allowance_min: int = 0
    early_allowance_min: int = 0
    departments: list[str] = field(default_factory=_default_departments)

    def validate(self) -> None:
        """Check every field against the manual's limits (raises SettingsError)."""
        if not 1 <= len(self.machine_name) <= 32:
            raise SettingsError("machine name must be 1-32 characters")
        check_range(self.device_number, 1, 99999, "device number")
        if self.date_format not in DATE_FORMATS:
            raise SettingsError(f"date format must be one of {', '.join(DATE_FORMATS)}")
        check_range(self.timezone_minutes, MIN_TZ_MINUTES, MAX_TZ_MINUTES, "time zone minutes")
        self.dst.start.validate("DST start")
        self.dst.end.validate("DST end")
        self.ntp.validate()
        self.network.validate()
        self._validate_tables()
        try:
            check_recheck_interval(self.recheck_interval_min)
        except RuleError as exc:
            raise SettingsError(str(exc)) from exc
        if self.verification_method not in VERIFICATION_METHODS:
            raise SettingsError(
                f"verification method must be one of {', '.join(VERIFICATION_METHODS)}"
            )
        self._validate_event_mode()
        check_range(self.keep_door_open_s, 0, MAX_KEEP_DOOR_OPEN_S, "keep door open (s)")
        check_range(self.late_allowance_min, 0, 1439, "late allowance (min)")
        check_range(self.early_allowance_min, 0, 1439, "early allowance (min)")

    def _validate_tables(self) -> None:
        if len(self.bells) != BELL_COUNT:
            raise SettingsError(f"there are exactly {BELL_COUNT} bell rows")
        for number, bell in enumerate(self.bells, start=1):
            bell.validate(number)
        if len(self.state_switches) != STATE_SWITCH_COUNT:
            raise SettingsError(f"there are exactly {STATE_SWITCH_COUNT} state switch rows")
        for number, row in enumerate(self.state_switches, start=1):
            row.validate(number)
        if len(self.departments) != DEPARTMENT_COUNT:
            raise SettingsError(
                f"the device has {DEPARTMENT_COUNT} departments; they cannot be added or deleted"
            )

    def _validate_event_mode(self) -> None:
        try:
            EventMode(self.event_mode)
            AttendanceState(self.fixed_state)
        except ValueError as exc:
            raise SettingsError(
                "event mode must be auto_manual, forced or fixed; fixed state one of "
                + ", ".join(s.value for s in AttendanceState)
            ) from exc

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeviceSettings:
        """Rebuild from `to_json` output (unknown keys ignored, missing ones defaulted)."""
        base = cls()
        simple = {f.name for f in dataclasses.fields(cls)} - {
            "dst",
            "ntp",
            "network",
            "bells",
            "state_switches",
        }
        for name in simple & data.keys():
            setattr(base, name, data[name])
        if "dst" in data:
            base.dst = Dst(
                enabled=data["dst"]["enabled"],
                start=DstPoint(**data["dst"]["start"]),
                end=DstPoint(**data["dst"]["end"]),
            )
        if "ntp" in data:
            base.ntp = Ntp(**data["ntp"])
        if "network" in data:
            base.network = Network(**data["network"])
        if "bells" in data:
            base.bells = [Bell(**row) for row in data["bells"]]
        if "state_switches" in data:
            base.state_switches = [StateSwitchRow(**row) for row in data["state_switches"]]
        return base
