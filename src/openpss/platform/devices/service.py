"""Device manager rules: add, edit, delete, list, export and import devices."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from openpss.platform.db import contains_text
from openpss.platform.devices.crypto import decrypt_secret, encrypt_secret
from openpss.platform.devices.models import DEFAULT_PORT, Device
from openpss.platform.devices.schemas import (
    DeviceCreate,
    DeviceQuery,
    DeviceUpdate,
    ImportResult,
)
from openpss.platform.errors import Conflict, DomainError, Invalid, NotFound
from openpss.platform.listing import Page, paginate
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.settings import Settings
from openpss.platform.xlsx import xlsx_bytes
from openpss.spreadsheets import read_rows

logger = logging.getLogger(__name__)

# Column order of the exported / importable device list; Password is optional on import.
EXPORT_COLUMNS = ["Device Name", "IP/Domain", "Port", "User Name", "Type", "Doors", "Remark"]
IMPORT_COLUMNS = [*EXPORT_COLUMNS, "Password"]
MAX_IMPORT_ROWS = 5000
MAX_IMPORT_COLUMNS = 32  # the template has 8


def get_device(*, session: Session, device_id: int) -> Device:
    """The device with this id, or NotFound."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} does not exist")
    return device


def _check_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    query = select(Device.id).where(Device.name == name)
    found = session.scalar(query)
    if found is not None and found != own_id:
        raise Conflict(f"a device named '{name}' already exists; choose another name")


def create_device(
    *, session: Session, settings: Settings, actor: Actor, data: DeviceCreate
) -> Device:
    """Add a device (audited); its password is stored encrypted."""
    _check_name_free(session, data.name)
    fields = data.model_dump(exclude={"password"})
    device = Device(**fields, password_encrypted=encrypt_secret(settings, data.password))
    session.add(device)
    session.flush()
    logger.info("device %s added (%s:%s)", device.name, device.host, device.port)
    detail = {"host": device.host, "port": device.port, "username": device.username}
    record_audit(
        session=session, actor=actor, action="device.create", target=device.name, detail=detail
    )
    return device


def update_device(
    *, session: Session, settings: Settings, actor: Actor, device_id: int, data: DeviceUpdate
) -> Device:
    """Change a device (audited, the password as "changed" only); a new host, port or
    credential marks it unchecked until the next poll."""
    device = get_device(session=session, device_id=device_id)
    changes = data.model_dump(exclude_unset=True, exclude={"password"})
    if changes.get("name") is not None:
        _check_name_free(session, changes["name"], device.id)
    for key, value in changes.items():
        if value is not None:
            setattr(device, key, value)
    if data.password is not None:
        device.password_encrypted = encrypt_secret(settings, data.password)
    if {"host", "port", "username"} & changes.keys() or data.password is not None:
        device.online = False
        device.last_error = ""
    session.flush()
    detail = changes | ({"password": "changed"} if data.password is not None else {})
    record_audit(
        session=session, actor=actor, action="device.update", target=device.name, detail=detail
    )
    return device


def delete_device(*, session: Session, actor: Actor, device_id: int) -> Device:
    """Delete a device, audited (its permission-group doors and tasks go with it; records keep
    no link)."""
    device = get_device(session=session, device_id=device_id)
    session.delete(device)
    session.flush()
    record_audit(session=session, actor=actor, action="device.delete", target=device.name)
    return device


def device_password(*, settings: Settings, device: Device) -> str:
    """The clear-text login password of a device (for adapters only; never return it to users)."""
    if not device.password_encrypted:
        raise Invalid(f"device '{device.name}' has no password set; edit it and enter one")
    return decrypt_secret(settings, device.password_encrypted)


_DEVICE_SORT = {
    "name": (Device.name,),
    "host": (Device.host, Device.name),
    "kind": (Device.kind, Device.name),
    "online": (Device.online.desc(), Device.name),
}


def list_devices(*, session: Session, query: DeviceQuery) -> Page[Device]:
    """A page of devices filtered by name/host/serial, sorted as asked, with the total count."""
    statement = select(Device)
    if query.search:
        columns = (Device.name, Device.host, Device.serial)
        statement = statement.where(or_(*(contains_text(c, query.search) for c in columns)))
    order = (*_DEVICE_SORT[query.sort], Device.id)
    return paginate(session, statement, query, order=order)


def export_devices_xlsx(*, session: Session, actor: Actor) -> bytes:
    """The device list as xlsx (audited), without passwords (they are re-entered on import)."""
    rows = (
        [d.name, d.host, d.port, d.username, d.kind, d.door_count, d.remark, ""]
        for d in session.scalars(select(Device).order_by(Device.name))
    )
    content = xlsx_bytes("Devices", rows, IMPORT_COLUMNS)
    record_audit(session=session, actor=actor, action="device.export")
    return content


@dataclass
class _Row:
    number: int
    values: dict[str, Any]
    password: str | None


def _read_rows(content: bytes) -> list[tuple[int, list[Any]]]:
    """Numbered non-blank rows (header first); ``SpreadsheetError`` for a refused file."""
    # MAX_IMPORT_ROWS devices plus the header; blank rows count against it.
    rows = read_rows(content, max_rows=MAX_IMPORT_ROWS + 1, max_columns=MAX_IMPORT_COLUMNS)
    return [(number, list(cells)) for number, cells in rows]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _parse_header(header: list[Any]) -> dict[str, int]:
    names = [_text(cell) for cell in header]
    missing = [c for c in EXPORT_COLUMNS if c not in names]
    if missing:
        raise Invalid(
            "row 1: the header lacks the column(s) "
            + ", ".join(missing)
            + "; download an export to get the template"
        )
    return {name: names.index(name) for name in IMPORT_COLUMNS if name in names}


def _parse_row(number: int, cells: list[Any], columns: dict[str, int]) -> _Row:
    def cell(name: str) -> str:
        index = columns.get(name)
        return _text(cells[index]) if index is not None and index < len(cells) else ""

    values: dict[str, Any] = {
        "name": cell("Device Name"),
        "host": cell("IP/Domain"),
        "port": cell("Port") or DEFAULT_PORT,
        "username": cell("User Name"),
        "kind": cell("Type") or "access",
        "door_count": cell("Doors") or 1,
        "remark": cell("Remark"),
    }
    password = cell("Password") or None
    try:
        model = DeviceCreate(**values, password=password or "placeholder")
    except ValidationError as exc:
        reasons = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Invalid(f"row {number}: {reasons}") from exc
    return _Row(number, model.model_dump(exclude={"password"}), password)


def _validate_rows(raw: list[tuple[int, list[Any]]]) -> list[_Row]:
    if not raw:
        raise Invalid("the file is empty; it needs a header row and device rows")
    columns = _parse_header(raw[0][1] if raw[0][0] == 1 else [])
    body = [(n, cells) for n, cells in raw[1:] if any(_text(c) for c in cells)]
    if len(body) > MAX_IMPORT_ROWS:
        raise Invalid(f"the file has {len(body)} devices; import at most {MAX_IMPORT_ROWS}")
    rows: list[_Row] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    name_index = columns["Device Name"]
    for number, cells in body:
        name = _text(cells[name_index]) if name_index < len(cells) else ""
        if name and name in seen:
            errors.append(f"row {number}: device name '{name}' repeats row {seen[name]}")
        seen.setdefault(name, number)
        try:
            rows.append(_parse_row(number, cells, columns))
        except DomainError as exc:
            errors.append(str(exc))
    if errors:
        raise Invalid("nothing was imported: " + " | ".join(errors))
    return rows


def import_devices_xlsx(
    *, session: Session, settings: Settings, actor: Actor, content: bytes, filename: str = ""
) -> ImportResult:
    """Import a device list: all rows are validated first, then written together.

    A row whose name exists updates that device; a new name creates one. The Password column is
    optional: a blank password keeps an existing device's password, and a new device without one
    is added with no password (listed in `without_password`; edit it to set one before syncing).
    """
    rows = _validate_rows(_read_rows(content))
    existing = {d.name: d for d in session.scalars(select(Device))}
    result = ImportResult(created=0, updated=0, without_password=[])
    for row in rows:
        device = existing.get(row.values["name"])
        if device is None:
            device = Device(**row.values, password_encrypted="")
            session.add(device)
            result.created += 1
        else:
            for key, value in row.values.items():
                setattr(device, key, value)
            result.updated += 1
        if row.password:
            device.password_encrypted = encrypt_secret(settings, row.password)
        if not device.password_encrypted:
            result.without_password.append(device.name)
    session.flush()
    record_audit(
        session=session,
        actor=actor,
        action="device.import",
        target=filename,
        detail=result.model_dump(),
    )
    return result


def devices_by_ids(*, session: Session, ids: Iterable[int]) -> dict[int, Device]:
    """Devices keyed by id (missing ids are absent)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    return {d.id: d for d in session.scalars(select(Device).where(Device.id.in_(wanted)))}
