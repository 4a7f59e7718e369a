"""Console: cards and fingerprints collected by a device (manual 1.4.1, collector "Device").

The person's Cards and Fingerprints panel reads the next card presented at a chosen device, or
asks it for a fingerprint from a finger presented three times; batch issue reads cards one by
one into its list.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from openpss.platform.deps import Operator, SessionDep, SettingsDep
from openpss.platform.devices import collect
from openpss.platform.errors import DomainError
from openpss.platform.fields import DbId
from openpss.platform.people import credentials
from openpss.platform.people.cards import format_card, get_card_mode
from openpss.platform.people.views_person import _credentials

router = APIRouter()
DeviceField = Annotated[int, Form()]


@router.post("/people/persons/{person_id}/cards/from-device", response_class=HTMLResponse)
async def card_from_device(
    person_id: DbId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    device_id: DeviceField,
    kind: Annotated[str, Form()] = "main",
) -> HTMLResponse:
    """Issue the next card presented at the device to this person."""
    try:
        number = await collect.read_card(session=session, settings=settings, device_id=device_id)
        shown = format_card(number, get_card_mode(session))
        credentials.add_card(
            session=session, person_id=person_id, number=shown, kind=kind, actor=principal.actor
        )
    except (collect.CollectError, DomainError) as exc:
        session.rollback()
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved=f"Card {shown} read and added.")


@router.post("/people/persons/{person_id}/fingerprints/from-device", response_class=HTMLResponse)
async def fingerprint_from_device(
    person_id: DbId,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
    device_id: DeviceField,
    name: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """Enrol a fingerprint captured at the device (the same finger presented three times)."""
    label = name.strip() or "fingerprint"
    try:
        template = await collect.capture_fingerprint(
            session=session, settings=settings, device_id=device_id
        )
        credentials.add_fingerprint(
            session=session, person_id=person_id, name=label, template=template,
            actor=principal.actor,
        )  # fmt: skip
    except (collect.CollectError, DomainError) as exc:
        session.rollback()
        return _credentials(request, session, person_id, str(exc))
    return _credentials(request, session, person_id, saved=f"Fingerprint '{label}' enrolled.")


@router.post("/people/read-card")
async def read_card(
    session: SessionDep, settings: SettingsDep, principal: Operator, device_id: DeviceField
) -> Response:
    """The next card presented at the device, as text in the card issuing type (batch issue)."""
    try:
        number = await collect.read_card(session=session, settings=settings, device_id=device_id)
    except (collect.CollectError, DomainError) as exc:
        return PlainTextResponse(str(exc), status_code=502)
    return PlainTextResponse(format_card(number, get_card_mode(session)))
