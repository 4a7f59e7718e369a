"""REST routes for the credentials of a person: cards, face images, fingerprints, password."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, File, UploadFile
from fastapi.responses import Response

from openpss.platform.deps import Operator, SessionDep, SettingsDep, Viewer
from openpss.platform.fields import DbId
from openpss.platform.people import credentials, service
from openpss.platform.people.cards import get_card_mode
from openpss.platform.people.http import read_upload
from openpss.platform.people.models import Card
from openpss.platform.people.schemas import (
    CardCreate,
    CardRead,
    CardUpdate,
    FaceRead,
    FingerprintCreate,
    FingerprintRead,
    PasswordSet,
)
from openpss.platform.web.openapi import UPLOAD_ERRORS, file_answer

router = APIRouter()
PERSON = "/persons/{person_id}"


def _card_read(session: SessionDep, card: Card) -> CardRead:
    return service.card_read(card, get_card_mode(session))


@router.post(PERSON + "/cards", response_model=CardRead, status_code=201)
def post_card(
    person_id: DbId, data: CardCreate, session: SessionDep, principal: Operator
) -> CardRead:
    """Issue a card (number in the card issuing type) as main or duress card."""
    card = credentials.add_card(
        session=session,
        person_id=person_id,
        number=data.number,
        kind=data.kind,
        actor=principal.actor,
    )
    return _card_read(session, card)


@router.patch(PERSON + "/cards/{card_id}", response_model=CardRead)
def patch_card(
    person_id: DbId, card_id: DbId, data: CardUpdate, session: SessionDep, principal: Operator
) -> CardRead:
    """Set main/duress, freeze/unfreeze, or replace the card number."""
    card = credentials.update_card(
        session=session,
        person_id=person_id,
        card_id=card_id,
        kind=data.kind,
        frozen=data.frozen,
        number=data.number,
        actor=principal.actor,
    )
    return _card_read(session, card)


@router.delete(PERSON + "/cards/{card_id}", status_code=204)
def delete_card(
    person_id: DbId, card_id: DbId, session: SessionDep, principal: Operator
) -> Response:
    """Delete a card."""
    credentials.delete_card(
        session=session, person_id=person_id, card_id=card_id, actor=principal.actor
    )
    return Response(status_code=204)


@router.get(
    PERSON + "/cards/{card_id}/qr.png", response_class=Response, responses=file_answer("image/png")
)
def get_card_qr(person_id: DbId, card_id: DbId, session: SessionDep, principal: Viewer) -> Response:
    """The card's QR code; only for 8-digit card numbers in hexadecimal mode."""
    png = credentials.card_qr_png(session=session, person_id=person_id, card_id=card_id)
    return Response(png, media_type="image/png")


@router.post(PERSON + "/faces", response_model=FaceRead, status_code=201, responses=UPLOAD_ERRORS)
async def post_face(
    person_id: DbId,
    session: SessionDep,
    principal: Operator,
    file: Annotated[UploadFile, File(description="JPEG or PNG, at most 100 KB")],
) -> FaceRead:
    """Add a face image (at most three per person)."""
    data = await read_upload(file)
    face = credentials.add_face(
        session=session, person_id=person_id, data=data, actor=principal.actor
    )
    return FaceRead.model_validate(face)


@router.get(
    PERSON + "/faces/{face_id}",
    response_class=Response,
    responses=file_answer("image/jpeg", "image/png"),
)
def get_face(person_id: DbId, face_id: DbId, session: SessionDep, principal: Viewer) -> Response:
    """The face image bytes."""
    face = credentials.get_face(session=session, person_id=person_id, face_id=face_id)
    return Response(face.data, media_type=face.content_type)


@router.delete(PERSON + "/faces/{face_id}", status_code=204)
def delete_face(
    person_id: DbId, face_id: DbId, session: SessionDep, principal: Operator
) -> Response:
    """Delete a face image."""
    credentials.delete_face(
        session=session, person_id=person_id, face_id=face_id, actor=principal.actor
    )
    return Response(status_code=204)


@router.post(PERSON + "/fingerprints", response_model=FingerprintRead, status_code=201)
def post_fingerprint(
    person_id: DbId, data: FingerprintCreate, session: SessionDep, principal: Operator
) -> FingerprintRead:
    """Add a named fingerprint template (base64 of the scanner's bytes)."""
    template = credentials.decode_template(data.template)
    fingerprint = credentials.add_fingerprint(
        session=session,
        person_id=person_id,
        name=data.name,
        template=template,
        actor=principal.actor,
    )
    return FingerprintRead.model_validate(fingerprint)


@router.get(PERSON + "/fingerprints/{fingerprint_id}")
def get_fingerprint(
    person_id: DbId, fingerprint_id: DbId, session: SessionDep, principal: Operator
) -> dict[str, str | int]:
    """A fingerprint with its template in base64."""
    fingerprint = credentials.get_fingerprint(
        session=session, person_id=person_id, fingerprint_id=fingerprint_id
    )
    template = base64.b64encode(fingerprint.template).decode()
    return {"id": fingerprint.id, "name": fingerprint.name, "template": template}


@router.delete(PERSON + "/fingerprints/{fingerprint_id}", status_code=204)
def delete_fingerprint(
    person_id: DbId, fingerprint_id: DbId, session: SessionDep, principal: Operator
) -> Response:
    """Delete a fingerprint."""
    credentials.delete_fingerprint(
        session=session, person_id=person_id, fingerprint_id=fingerprint_id, actor=principal.actor
    )
    return Response(status_code=204)


@router.put(PERSON + "/password", status_code=204)
def put_password(
    person_id: DbId,
    data: PasswordSet,
    session: SessionDep,
    settings: SettingsDep,
    principal: Operator,
) -> Response:
    """Set the person's password (6-8 digits); stored encrypted, never logged."""
    credentials.set_password(
        session=session,
        person_id=person_id,
        password=data.password,
        secret_key=settings.secret_key,
        actor=principal.actor,
    )
    return Response(status_code=204)


@router.delete(PERSON + "/password", status_code=204)
def delete_password(person_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Remove the person's password."""
    credentials.clear_password(session=session, person_id=person_id, actor=principal.actor)
    return Response(status_code=204)
