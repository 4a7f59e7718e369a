"""Extract personnel from a device into the platform (persons with their cards).

Each device user becomes a person (in the chosen department, the root by default) unless a person
with that user ID exists ("already present", not a failure); cards are added when free. The
operator may first read the list (`preview`), export it to xlsx and pick the users to import
(manual 1.4: extract, then select). Every imported user gets a result (success, already present,
or failure with the reason), and nothing half-done is kept for a failed user (one savepoint each).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices import service as devices
from openpss.platform.devices.adapter import DahuaAdapter
from openpss.platform.devices.models import Device
from openpss.platform.errors import Unavailable
from openpss.platform.people import credentials
from openpss.platform.people import service as people
from openpss.platform.people.models import Person
from openpss.platform.people.schemas import PersonCreate
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

logger = logging.getLogger(__name__)
Show = Literal["all", "success", "present", "failure"]
ALREADY_PRESENT = "already present: a person with this user ID exists"


@dataclass(frozen=True)
class ExtractResult:
    """What happened to one device user."""

    user_id: str
    name: str
    success: bool
    reason: str = ""
    present: bool = False  # the person already exists: nothing to import, not a failure

    @property
    def status(self) -> str:
        """success, present or failure (the columns of the extract dialog)."""
        return "success" if self.success else "present" if self.present else "failure"


@dataclass(frozen=True)
class DeviceUser:
    """One user read from a device, before import."""

    user_id: str
    name: str
    cards: list[str] = field(default_factory=list)
    present: bool = False


def _ident(entry: dict[str, Any]) -> tuple[str, str]:
    user_id = str(entry.get("UserID", "")).strip()
    return user_id, str(entry.get("UserName", "")).strip() or user_id


def preview(*, session: Session, users: list[dict[str, Any]]) -> list[DeviceUser]:
    """The device's users with the ones already present in the platform marked."""
    ids = [_ident(u)[0] for u in users]
    present = set(session.scalars(select(Person.user_id).where(Person.user_id.in_(ids))))
    rows = []
    for entry in users:
        user_id, name = _ident(entry)
        cards = [str(c) for c in entry.get("Cards", [])]
        rows.append(DeviceUser(user_id, name, cards, user_id in present))
    return rows


def preview_xlsx(rows: list[DeviceUser]) -> bytes:
    """The extracted users as an xlsx sheet: User ID, Name, Card No., In the platform."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def clean_cell(value: str) -> str:  # a device name may hold control characters
        return ILLEGAL_CHARACTERS_RE.sub("", value)

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Extracted users")
    sheet.append(["User ID", "Name", "Card No.", "In the platform"])
    for row in rows:
        cells = [
            row.user_id,
            row.name,
            " ".join(row.cards),
            "already present" if row.present else "new",
        ]
        sheet.append([clean_cell(c) for c in cells])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import_user(
    session: Session, entry: dict[str, Any], department_id: int | None
) -> ExtractResult:
    user_id, name = _ident(entry)
    existing = session.scalar(select(Person.id).where(Person.user_id == user_id))
    if existing is not None:
        return ExtractResult(user_id, name, False, ALREADY_PRESENT, present=True)
    try:
        with session.begin_nested():
            data = PersonCreate.model_validate(
                {"user_id": user_id, "name": name, "department_id": department_id}
            )
            person = people.create_person(session=session, data=data)
            for card in entry.get("Cards", []):
                credentials.add_card(session=session, person_id=person.id, number=str(card))
    except ValueError as exc:
        return ExtractResult(user_id, name, False, str(exc)[:255])
    return ExtractResult(user_id, name, True)


def import_personnel(
    *,
    session: Session,
    users: list[dict[str, Any]],
    department_id: int | None = None,
    user_ids: Collection[str] | None = None,
) -> list[ExtractResult]:
    """Create platform persons from device users (read with DahuaAdapter.read_personnel); only
    the picked `user_ids` when given."""
    picked = None if user_ids is None else {str(u).strip() for u in user_ids}
    return [
        _import_user(session, entry, department_id)
        for entry in users
        if picked is None or _ident(entry)[0] in picked
    ]


async def read_device_users(
    *, session: Session, settings: Settings, device_id: int
) -> tuple[Device, list[dict[str, Any]]]:
    """The device and its users with their cards, read over the device API.

    Unavailable when the device does not answer or refuses; Invalid when it has no password.
    """
    device = devices.get_device(session=session, device_id=device_id)
    password = devices.device_password(settings=settings, device=device)
    try:
        async with DahuaAdapter.for_device(device, password) as adapter:
            return device, await adapter.read_personnel()
    except DahuaError as exc:
        raise Unavailable(f"device '{device.name}': {exc}") from exc


async def preview_export(
    *, session: Session, settings: Settings, device_id: int
) -> tuple[str, bytes]:
    """(file name, xlsx) of the device's users, those already in the platform marked."""
    device, users = await read_device_users(session=session, settings=settings, device_id=device_id)
    body = preview_xlsx(preview(session=session, users=users))
    return f"extracted-users-device-{device.id}.xlsx", body


async def extract_personnel(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    device_id: int,
    department_id: int | None = None,
    user_ids: Collection[str] | None = None,
) -> tuple[Device, list[ExtractResult]]:
    """Read a device's users and import them (all, or the picked `user_ids`); audited."""
    device, users = await read_device_users(session=session, settings=settings, device_id=device_id)
    results = import_personnel(
        session=session, users=users, department_id=department_id, user_ids=user_ids
    )
    done = sum(r.success for r in results)
    present = sum(r.present for r in results)
    record_audit(
        session=session,
        actor=actor,
        action="device.extract_personnel",
        target=device.name,
        detail={"users": len(results), "imported": done, "present": present},
    )
    return device, results


def shown(results: list[ExtractResult], show: Show) -> list[ExtractResult]:
    """Filter results: all, success, already present or failure (views of the extract dialog)."""
    if show == "all":
        return results
    return [r for r in results if r.status == show]
