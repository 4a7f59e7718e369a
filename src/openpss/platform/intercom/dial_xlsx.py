"""Dial management export and imports (platform-video-intercom 2.2, Related Operations).

- Export / "Import SmartPSS Lite": one row per registration (type, device name, registration
  number, VTO/VTS number), read back by another platform.
- "Create ConfigTool Template" / "Import ConfigTool": the same registrations spelled out as
  building, unit, room, extension and 2-digit number columns, filled in by hand.

Imports are all or nothing: every row is tried, and one bad row leaves nothing imported; the
error lists each bad row by its number.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices.models import Device
from openpss.platform.intercom.buildings import CODE_SEPARATOR
from openpss.platform.intercom.errors import IntercomError
from openpss.platform.intercom.models import EndpointKind, OrgNode, Registration, Room
from openpss.platform.intercom.registrations import add_registration
from openpss.platform.intercom.rooms import node_code, node_numbers
from openpss.platform.intercom.schemas import RegistrationCreate
from openpss.platform.security.audit import Actor, record_audit
from openpss.spreadsheets import read_rows

EXPORT_COLUMNS = ["Type", "Device Name", "Registration Number", "Device Number"]
CONFIGTOOL_COLUMNS = [
    "Type",
    "Device Name",
    "Building No.",
    "Unit No.",
    "Room No.",
    "Extension",
    "Device Number",
]
MAX_IMPORT_ROWS = 5000  # as the device import (devices/service.py)
MAX_IMPORT_COLUMNS = 32
Cells = dict[str, str]


def _book(columns: list[str], rows: list[list[Any]]) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Registrations")
    sheet.append(columns)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_xlsx(*, session: Session) -> bytes:
    """Every registration number (no SIP passwords: the importing platform makes new ones)."""
    query = (
        select(Registration, Device.name)
        .outerjoin(Device, Device.id == Registration.device_id)
        .order_by(Registration.kind, Registration.number)
    )
    rows = [
        [row.kind.value.upper(), name or row.name, row.number, row.device_number]
        for row, name in session.execute(query)
    ]
    return _book(EXPORT_COLUMNS, rows)


def configtool_template() -> bytes:
    """The ConfigTool template: headers and one example row per type."""
    examples = [
        ["VTH", "Hall VTH", "11", "01", "11", "5", ""],
        ["VTO", "Gate VTO", "11", "01", "", "", "8055"],
        ["VTS", "Guard VTS", "", "", "", "", "101"],
    ]
    return _book(CONFIGTOOL_COLUMNS, examples)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table(content: bytes, columns: list[str]) -> list[tuple[int, Cells]]:
    raw = read_rows(content, max_rows=MAX_IMPORT_ROWS + 1, max_columns=MAX_IMPORT_COLUMNS)
    if not raw or raw[0][0] != 1:
        raise IntercomError(f"the file needs a header row: {', '.join(columns)}")
    header = [_text(c) for c in raw[0][1]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise IntercomError(f"the header lacks column(s) {', '.join(missing)}")
    index = {c: header.index(c) for c in columns}
    return [
        (number, {c: _text(cells[i]) for c, i in index.items()})
        for number, cells in raw[1:]
        if any(_text(c) for c in cells)
    ]


class _Lookup:
    """Devices, units and rooms by the names and numbers a file uses."""

    def __init__(self, session: Session) -> None:
        self.devices = {d.name: d for d in session.scalars(select(Device))}
        numbers = node_numbers(session)
        self.nodes = {
            CODE_SEPARATOR.join(node_code(numbers, n.id)): n.id
            for n in session.scalars(select(OrgNode))
        }
        self.rooms = {
            CODE_SEPARATOR.join([*node_code(numbers, r.node_id), r.number]): r.id
            for r in session.scalars(select(Room))
        }

    def device(self, name: str) -> int:
        if name not in self.devices:
            raise IntercomError(f"device {name!r} is not in the device list: add it first")
        return self.devices[name].id

    def node(self, code: str) -> int:
        if code not in self.nodes:
            raise IntercomError(f"unit {code} does not exist: add it in the building manager")
        return self.nodes[code]

    def room(self, code: str) -> int:
        if code not in self.rooms:
            raise IntercomError(f"room {code} does not exist: add it in the building manager")
        return self.rooms[code]


def _from_export(cells: Cells, lookup: _Lookup) -> RegistrationCreate:
    kind, number = cells["Type"].lower(), cells["Registration Number"]
    parts = number.split(CODE_SEPARATOR)
    if kind == "vth":
        extension = int(parts.pop()) if len(parts) == 4 and parts[-1].isdigit() else None
        return RegistrationCreate(
            kind=EndpointKind.vth,
            device_id=lookup.device(cells["Device Name"]),
            room_id=lookup.room(CODE_SEPARATOR.join(parts)),
            extension=extension,
        )
    device_number = cells["Device Number"] or parts[-1]
    base = {"device_number": device_number, "suffix": device_number[-2:]}
    if kind == "vto":
        node = lookup.node(CODE_SEPARATOR.join(parts[:-1]))
        device = lookup.device(cells["Device Name"])
        return RegistrationCreate(kind=EndpointKind.vto, device_id=device, node_id=node, **base)
    if kind == "vts":
        return RegistrationCreate(kind=EndpointKind.vts, name=cells["Device Name"], **base)
    raise IntercomError(f"type {cells['Type']!r} is not VTH, VTO or VTS")


def _pad(number: str) -> str:
    return f"{int(number):02d}" if number.isdigit() else number


def _from_configtool(cells: Cells, lookup: _Lookup) -> RegistrationCreate:
    kind = cells["Type"].lower()
    unit = [_pad(cells[c]) for c in ("Building No.", "Unit No.") if cells[c]]
    if kind == "vth":
        extension = cells["Extension"]
        return RegistrationCreate(
            kind=EndpointKind.vth,
            device_id=lookup.device(cells["Device Name"]),
            room_id=lookup.room(CODE_SEPARATOR.join([*unit, cells["Room No."]])),
            extension=int(extension) if extension.isdigit() else None,
        )
    device_number = cells["Device Number"]
    base = {"device_number": device_number, "suffix": device_number[-2:]}
    if kind == "vto":
        node = lookup.node(CODE_SEPARATOR.join(unit))
        device = lookup.device(cells["Device Name"])
        return RegistrationCreate(kind=EndpointKind.vto, device_id=device, node_id=node, **base)
    if kind == "vts":
        return RegistrationCreate(kind=EndpointKind.vts, name=cells["Device Name"], **base)
    raise IntercomError(f"type {cells['Type']!r} is not VTH, VTO or VTS")


def _import(
    session: Session,
    actor: Actor,
    secret_key: str,
    rows: list[tuple[int, Cells]],
    parse: Callable[[Cells, _Lookup], RegistrationCreate],
) -> int:
    if not rows:
        raise IntercomError("the file has no registration rows")
    lookup = _Lookup(session)
    errors: list[str] = []
    outer = session.begin_nested()
    for number, cells in rows:
        inner = session.begin_nested()
        try:
            data = parse(cells, lookup)
            add_registration(session=session, actor=actor, secret_key=secret_key, data=data)
        except (IntercomError, ValueError) as exc:
            inner.rollback()
            errors.append(f"row {number}: {_message(exc)}")
        else:
            inner.commit()
    if errors:
        outer.rollback()
        raise IntercomError("nothing was imported: " + " | ".join(errors))
    outer.commit()
    return len(rows)


def _message(exc: Exception) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic ValidationError: field and message
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors())
    return str(exc)


def import_xlsx(
    *, session: Session, actor: Actor, secret_key: str, content: bytes, configtool: bool
) -> int:
    """Import registrations from an export (SmartPSS Lite) or a ConfigTool template."""
    columns = CONFIGTOOL_COLUMNS if configtool else EXPORT_COLUMNS
    parse = _from_configtool if configtool else _from_export
    count = _import(session, actor, secret_key, _table(content, columns), parse)
    record_audit(
        session=session,
        actor=actor,
        action="intercom.registration.import",
        detail={"rows": count, "format": "configtool" if configtool else "smartpss"},
    )
    return count
