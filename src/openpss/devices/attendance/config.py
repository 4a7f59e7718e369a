"""The terminal's settings as ``configManager.cgi`` tables (``table.Name.Field=value``).

Tables (``getConfig&name=<Name>``; ``setConfig&<Name>.<Field>=v``, several in one call,
all validated before any is applied):

==============  ===============================================================================
General         MachineName, LocalNo (device number, 1-99999)
Locales         DateFormat, TimeZone (GMT-12:00..GMT+13:00), DSTEnable, DSTStart/DSTEnd.{Month,
                Week (0 = by date, 1-5 or -1 = by week), Day, Hour, Minute}
NTP             Enable, Address, Port, UpdatePeriod (minutes)
Network         eth0.IPAddress, eth0.SubnetMask, eth0.DefaultGateway, eth0.PhysicalAddress
                (read-only), TCPPort; stored only, never applied to the host
Bell[0..15]     Time (HH:MM), Cycle (EveryDay, Monday..Sunday), Duration (0-99 s, 0 = off)
Attendance      RecheckInterval (0-9), VerificationMethod (FP, PWD, Card, FP/PWD/Card, FP/PWD),
                EventMode (auto_manual, forced, fixed), FixedState, KeepDoorOpen (0-600),
                LateAllowance, EarlyAllowance (minutes)
StateSwitch[0..23]  Time (HH:MM), State (CheckIn, CheckOut, BreakOut, BreakIn, OvertimeIn,
                OvertimeOut or NULL)
Department[0..19]   Name (cannot be empty; departments cannot be deleted)
Shift[0..23]    Period1, Period2, Overtime ("HH:MM-HH:MM" or empty)  -- see schedule.py
==============  ===============================================================================
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from openpss.devices.attendance.model import Terminal, TerminalError
from openpss.devices.attendance.settings import (
    DATE_FORMATS,
    DeviceSettings,
    DstPoint,
    format_tz,
    parse_tz,
)
from openpss.protocols.dahua_http.codec import unflatten_config

TABLES = (
    "General",
    "Locales",
    "NTP",
    "Network",
    "Bell",
    "Attendance",
    "StateSwitch",
    "Department",
    "Shift",
)


def mac_address(serial: str) -> str:
    """The fixed MAC of this device, derived from its serial number (locally administered)."""
    digest = hashlib.sha256(serial.encode()).digest()
    octets = [0x02, *digest[:5]]
    return ":".join(f"{b:02x}" for b in octets)


def _dst_point(point: DstPoint) -> dict[str, int]:
    return {
        "Month": point.month,
        "Week": point.week,
        "Day": point.day,
        "Hour": point.hour,
        "Minute": point.minute,
    }


def read_table(terminal: Terminal, name: str) -> Any:
    """The config tree of one table."""
    s = terminal.settings
    if name == "General":
        return {"MachineName": s.machine_name, "LocalNo": s.device_number}
    if name == "Locales":
        return {
            "DateFormat": s.date_format,
            "TimeZone": format_tz(s.timezone_minutes),
            "DSTEnable": s.dst.enabled,
            "DSTStart": _dst_point(s.dst.start),
            "DSTEnd": _dst_point(s.dst.end),
        }
    if name == "NTP":
        return {
            "Enable": s.ntp.enabled,
            "Address": s.ntp.address,
            "Port": s.ntp.port,
            "UpdatePeriod": s.ntp.update_period_min,
        }
    if name == "Network":
        eth0 = {
            "IPAddress": s.network.ip,
            "SubnetMask": s.network.mask,
            "DefaultGateway": s.network.gateway,
            "PhysicalAddress": mac_address(terminal.serial),
        }
        return {"eth0": eth0, "TCPPort": s.network.port}
    if name == "Bell":
        return [{"Time": b.time, "Cycle": b.cycle, "Duration": b.duration_s} for b in s.bells]
    if name == "Attendance":
        return {
            "RecheckInterval": s.recheck_interval_min,
            "VerificationMethod": s.verification_method,
            "EventMode": s.event_mode,
            "FixedState": s.fixed_state,
            "KeepDoorOpen": s.keep_door_open_s,
            "LateAllowance": s.late_allowance_min,
            "EarlyAllowance": s.early_allowance_min,
        }
    if name == "StateSwitch":
        return [{"Time": r.time, "State": r.state} for r in s.state_switches]
    if name == "Department":
        return [{"Name": n} for n in s.departments]
    if name == "Shift":
        from openpss.devices.attendance.schedule import shift_table

        return shift_table(terminal)
    raise TerminalError(f"unknown config name {name!r}; known: {', '.join(TABLES)}")


def _int(value: object, what: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise TerminalError(f"{what} must be an integer, not {value!r}") from exc


def _bool(value: object, what: str) -> bool:
    text = str(value).lower()
    if text not in ("true", "false"):
        raise TerminalError(f"{what} must be true or false, not {value!r}")
    return text == "true"


def _fields(tree: object, what: str) -> dict[str, Any]:
    if not isinstance(tree, dict):
        raise TerminalError(f"{what} needs fields, e.g. {what}.Field=value")
    return tree


def _rows(tree: object, what: str, count: int) -> dict[int, dict[str, Any]]:
    rows: dict[Any, Any] = _fields(tree, what)
    result: dict[int, dict[str, Any]] = {}
    for index, row in rows.items():
        if not isinstance(index, int) or not 0 <= index < count:
            raise TerminalError(f"{what} index must be [0]-[{count - 1}]")
        result[index] = _fields(row, f"{what}[{index}]")
    return result


def _unknown(fields: dict[str, Any], known: set[str], what: str) -> None:
    extra = set(fields) - known
    if extra:
        raise TerminalError(
            f"{what} has no field {sorted(extra)[0]}; fields: {', '.join(sorted(known))}"
        )


def _set_general(s: DeviceSettings, tree: object) -> None:
    f = _fields(tree, "General")
    _unknown(f, {"MachineName", "LocalNo"}, "General")
    s.machine_name = str(f.get("MachineName", s.machine_name))
    s.device_number = _int(f.get("LocalNo", s.device_number), "General.LocalNo")


def _set_dst_point(point: DstPoint, tree: object, what: str) -> None:
    f = _fields(tree, what)
    _unknown(f, {"Month", "Week", "Day", "Hour", "Minute"}, what)
    for key, attr in (
        ("Month", "month"),
        ("Week", "week"),
        ("Day", "day"),
        ("Hour", "hour"),
        ("Minute", "minute"),
    ):
        if key in f:
            setattr(point, attr, _int(f[key], f"{what}.{key}"))


def _set_locales(s: DeviceSettings, tree: object) -> None:
    f = _fields(tree, "Locales")
    _unknown(f, {"DateFormat", "TimeZone", "DSTEnable", "DSTStart", "DSTEnd"}, "Locales")
    if "DateFormat" in f:
        if f["DateFormat"] not in DATE_FORMATS:
            raise TerminalError(f"Locales.DateFormat must be one of {', '.join(DATE_FORMATS)}")
        s.date_format = f["DateFormat"]
    if "TimeZone" in f:
        s.timezone_minutes = parse_tz(str(f["TimeZone"]))
    if "DSTEnable" in f:
        s.dst.enabled = _bool(f["DSTEnable"], "Locales.DSTEnable")
    if "DSTStart" in f:
        _set_dst_point(s.dst.start, f["DSTStart"], "Locales.DSTStart")
    if "DSTEnd" in f:
        _set_dst_point(s.dst.end, f["DSTEnd"], "Locales.DSTEnd")


def _set_ntp(s: DeviceSettings, tree: object) -> None:
    f = _fields(tree, "NTP")
    _unknown(f, {"Enable", "Address", "Port", "UpdatePeriod"}, "NTP")
    if "Enable" in f:
        s.ntp.enabled = _bool(f["Enable"], "NTP.Enable")
    s.ntp.address = str(f.get("Address", s.ntp.address))
    s.ntp.port = _int(f.get("Port", s.ntp.port), "NTP.Port")
    s.ntp.update_period_min = _int(
        f.get("UpdatePeriod", s.ntp.update_period_min), "NTP.UpdatePeriod"
    )


def _set_network(s: DeviceSettings, tree: object) -> None:
    f = _fields(tree, "Network")
    _unknown(f, {"eth0", "TCPPort"}, "Network")
    if "TCPPort" in f:
        s.network.port = _int(f["TCPPort"], "Network.TCPPort")
    eth0 = _fields(f.get("eth0", {}), "Network.eth0")
    if "PhysicalAddress" in eth0:
        raise TerminalError("the MAC address of the device cannot be changed")
    _unknown(eth0, {"IPAddress", "SubnetMask", "DefaultGateway"}, "Network.eth0")
    s.network.ip = str(eth0.get("IPAddress", s.network.ip))
    s.network.mask = str(eth0.get("SubnetMask", s.network.mask))
    s.network.gateway = str(eth0.get("DefaultGateway", s.network.gateway))


def _set_bells(s: DeviceSettings, tree: object) -> None:
    for index, f in _rows(tree, "Bell", len(s.bells)).items():
        _unknown(f, {"Time", "Cycle", "Duration"}, f"Bell[{index}]")
        bell = s.bells[index]
        bell.time = str(f.get("Time", bell.time))
        bell.cycle = str(f.get("Cycle", bell.cycle))
        bell.duration_s = _int(f.get("Duration", bell.duration_s), f"Bell[{index}].Duration")


_ATTENDANCE_INT = {
    "RecheckInterval": "recheck_interval_min",
    "KeepDoorOpen": "keep_door_open_s",
    "LateAllowance": "late_allowance_min",
    "EarlyAllowance": "early_allowance_min",
}
_ATTENDANCE_STR = {
    "VerificationMethod": "verification_method",
    "EventMode": "event_mode",
    "FixedState": "fixed_state",
}


def _set_attendance(s: DeviceSettings, tree: object) -> None:
    f = _fields(tree, "Attendance")
    _unknown(f, set(_ATTENDANCE_INT) | set(_ATTENDANCE_STR), "Attendance")
    for key, attr in _ATTENDANCE_INT.items():
        if key in f:
            setattr(s, attr, _int(f[key], f"Attendance.{key}"))
    for key, attr in _ATTENDANCE_STR.items():
        if key in f:
            setattr(s, attr, str(f[key]))


def _set_switches(s: DeviceSettings, tree: object) -> None:
    for index, f in _rows(tree, "StateSwitch", len(s.state_switches)).items():
        _unknown(f, {"Time", "State"}, f"StateSwitch[{index}]")
        row = s.state_switches[index]
        row.time = str(f.get("Time", row.time))
        row.state = str(f.get("State", row.state))


def _set_departments(s: DeviceSettings, tree: object) -> None:
    for index, f in _rows(tree, "Department", len(s.departments)).items():
        _unknown(f, {"Name"}, f"Department[{index}]")
        name = str(f.get("Name", s.departments[index])).strip()
        if not name:
            raise TerminalError("department names cannot be empty")
        if len(name) > 16:
            raise TerminalError("department name must be at most 16 characters")
        s.departments[index] = name


_SETTERS: dict[str, Callable[[DeviceSettings, object], None]] = {
    "General": _set_general,
    "Locales": _set_locales,
    "NTP": _set_ntp,
    "Network": _set_network,
    "Bell": _set_bells,
    "Attendance": _set_attendance,
    "StateSwitch": _set_switches,
    "Department": _set_departments,
}


def apply_set_config(terminal: Terminal, items: dict[str, str]) -> None:
    """Apply ``setConfig`` parameters: every table validated first, then all applied."""
    if not items:
        raise TerminalError("setConfig needs at least one Name.Field=value parameter")
    tree = unflatten_config(items)
    unknown = [name for name in tree if name not in TABLES]
    if unknown:
        raise TerminalError(f"unknown config name {unknown[0]!r}; known: {', '.join(TABLES)}")
    shift_tree = tree.pop("Shift", None)
    if shift_tree is not None:
        from openpss.devices.attendance.schedule import check_shift_table

        shifts = check_shift_table(terminal, shift_tree)

    def change(settings: DeviceSettings) -> None:
        for name, subtree in tree.items():
            _SETTERS[name](settings, subtree)

    if tree:
        terminal.update_settings(change, what="config " + ", ".join(tree))
    if shift_tree is not None:
        from openpss.devices.attendance.schedule import save_shifts

        save_shifts(terminal, shifts)
