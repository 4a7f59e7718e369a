"""Extract personnel from a device into the platform (persons with their cards).

Each device user becomes a person (in the chosen department, the root by default) unless a person
with that user ID exists; cards are added when free. Every user gets a result (success, or failure
with the reason), and nothing half-done is kept for a failed user (one savepoint per user).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
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
Show = Literal["all", "success", "failure"]


@dataclass(frozen=True)
class ExtractResult:
    """What happened to one device user."""

    user_id: str
    name: str
    success: bool
    reason: str = ""


def _import_user(
    session: Session, entry: dict[str, Any], department_id: int | None
) -> ExtractResult:
    user_id = str(entry.get("UserID", "")).strip()
    name = str(entry.get("UserName", "")).strip() or user_id
    existing = session.scalar(select(Person.id).where(Person.user_id == user_id))
    if existing is not None:
        return ExtractResult(user_id, name, False, "a person with this user ID already exists")
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
) -> list[ExtractResult]:
    """Create platform persons from device users (read with DahuaAdapter.read_personnel)."""
    return [_import_user(session, entry, department_id) for entry in users]


async def extract_personnel(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    device_id: int,
    department_id: int | None = None,
) -> tuple[Device, list[ExtractResult]]:
    """Read a device's users (with cards) and import them as persons; audited.

    Unavailable when the device does not answer or refuses; Invalid when it has no password.
    """
    device = devices.get_device(session=session, device_id=device_id)
    password = devices.device_password(settings=settings, device=device)
    try:
        async with DahuaAdapter.for_device(device, password) as adapter:
            users = await adapter.read_personnel()
    except DahuaError as exc:
        raise Unavailable(f"device '{device.name}': {exc}") from exc
    results = import_personnel(session=session, users=users, department_id=department_id)
    done = sum(r.success for r in results)
    record_audit(
        session=session,
        actor=actor,
        action="device.extract_personnel",
        target=device.name,
        detail={"users": len(results), "imported": done},
    )
    return device, results


def shown(results: list[ExtractResult], show: Show) -> list[ExtractResult]:
    """Filter results: all, success or failure (the three views of the extract dialog)."""
    if show == "all":
        return results
    return [r for r in results if r.success == (show == "success")]
