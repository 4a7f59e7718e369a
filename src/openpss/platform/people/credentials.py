"""Credentials of a person: cards, face images, fingerprints and the password (manual 1.4.1)."""

from __future__ import annotations

import base64
import binascii
import io
import logging
import re

import qrcode
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.people.audit import audit_change
from openpss.platform.people.cards import (
    format_card,
    get_card_mode,
    parse_card,
    qr_allowed,
    to_decimal,
)
from openpss.platform.people.images import MAX_FACE_BYTES, check_image
from openpss.platform.people.models import Card, FaceImage, Fingerprint, Person
from openpss.platform.people.secrets import decrypt_pin, encrypt_pin
from openpss.platform.security.audit import Actor

logger = logging.getLogger(__name__)
MAX_CARDS = 5  # cards per person on Dahua access controllers
MAX_FACES = 3  # the manual's dialog has three face image areas
MAX_FINGERPRINTS = 10  # one per finger
MAX_TEMPLATE_BYTES = 4096
CARD_KINDS = ("main", "duress")
_PIN = re.compile(r"[0-9]{6,8}")


def _person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id} does not exist")
    return person


def get_card(*, session: Session, person_id: int, card_id: int) -> Card:
    """A card of a person, or NotFound."""
    card = session.get(Card, card_id)
    if card is None or card.person_id != person_id:
        raise NotFound(f"person {person_id} has no card {card_id}")
    return card


def ensure_card_free(session: Session, number: str, own_card_id: int | None = None) -> None:
    """Conflict if the canonical card number belongs to a card already."""
    owner = session.execute(
        select(Card.id, Person.user_id).join(Person).where(Card.number == number)
    ).first()
    if owner is not None and owner[0] != own_card_id:
        shown = format_card(number, get_card_mode(session))
        raise Conflict(f"card {shown} is already issued to user {owner[1]}")


def new_card(number: str, kind: str = "main") -> Card:
    """A Card row for a canonical number."""
    if kind not in CARD_KINDS:
        raise Invalid(f"card kind must be main or duress, not {kind!r}")
    return Card(number=number, number_dec=to_decimal(number), kind=kind, frozen=False)


def _check_card_room(session: Session, person_id: int, adding: int = 1) -> None:
    count = session.scalar(
        select(func.count()).select_from(Card).where(Card.person_id == person_id)
    )
    if (count or 0) + adding > MAX_CARDS:
        raise Invalid(f"a person can hold at most {MAX_CARDS} cards")


def _audit_card(session: Session, actor: Actor | None, action: str, card: Card) -> None:
    shown = format_card(card.number, get_card_mode(session))
    person = _person(session, card.person_id)
    audit_change(
        session, actor, action, person=person, card=shown, kind=card.kind, frozen=card.frozen
    )


def add_card(
    *, session: Session, person_id: int, number: str, kind: str = "main", actor: Actor | None = None
) -> Card:
    """Issue a card typed in the system's card issuing type (audited when `actor` is given)."""
    _person(session, person_id)
    canonical = parse_card(number, get_card_mode(session))
    ensure_card_free(session, canonical)
    _check_card_room(session, person_id)
    card = new_card(canonical, kind)
    card.person_id = person_id
    session.add(card)
    session.flush()
    _audit_card(session, actor, "card.create", card)
    return card


def update_card(
    *,
    session: Session,
    person_id: int,
    card_id: int,
    kind: str | None = None,
    frozen: bool | None = None,
    number: str | None = None,
    actor: Actor | None = None,
) -> Card:
    """Make a card main or duress, freeze/unfreeze it, or replace it with a new number."""
    card = get_card(session=session, person_id=person_id, card_id=card_id)
    if kind is not None:
        if kind not in CARD_KINDS:
            raise Invalid(f"card kind must be main or duress, not {kind!r}")
        card.kind = kind
    if frozen is not None:
        card.frozen = frozen
    if number is not None:
        canonical = parse_card(number, get_card_mode(session))
        ensure_card_free(session, canonical, card.id)
        card.number, card.number_dec = canonical, to_decimal(canonical)
    session.flush()
    _audit_card(session, actor, "card.update", card)
    return card


def delete_card(
    *, session: Session, person_id: int, card_id: int, actor: Actor | None = None
) -> Card:
    """Delete a card of a person."""
    card = get_card(session=session, person_id=person_id, card_id=card_id)
    _audit_card(session, actor, "card.delete", card)
    session.delete(card)
    session.flush()
    return card


def card_qr_png(*, session: Session, person_id: int, card_id: int) -> bytes:
    """The QR code (PNG) of a card; only for 8-digit numbers in hexadecimal mode."""
    card = get_card(session=session, person_id=person_id, card_id=card_id)
    mode = get_card_mode(session)
    if not qr_allowed(card.number, mode):
        shown = format_card(card.number, mode)
        raise Invalid(
            f"card {shown} has no QR code: only 8-digit card numbers in hexadecimal mode do"
        )
    buffer = io.BytesIO()
    qrcode.make(card.number).save(buffer)
    return buffer.getvalue()


def add_face(
    *, session: Session, person_id: int, data: bytes, actor: Actor | None = None
) -> FaceImage:
    """Add a face image (JPEG/PNG, at most 100 KB, at most three per person)."""
    person = _person(session, person_id)
    image = check_image(data, what="face image", max_bytes=MAX_FACE_BYTES)
    count = session.scalar(
        select(func.count()).select_from(FaceImage).where(FaceImage.person_id == person_id)
    )
    if (count or 0) >= MAX_FACES:
        raise Invalid(f"a person can have at most {MAX_FACES} face images; delete one first")
    face = FaceImage(
        person_id=person_id,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        data=image.data,
    )
    session.add(face)
    session.flush()
    audit_change(session, actor, "face.create", person=person, face_id=face.id, bytes=len(data))
    return face


def get_face(*, session: Session, person_id: int, face_id: int) -> FaceImage:
    """A face image of a person, or NotFound."""
    face = session.get(FaceImage, face_id)
    if face is None or face.person_id != person_id:
        raise NotFound(f"person {person_id} has no face image {face_id}")
    return face


def delete_face(
    *, session: Session, person_id: int, face_id: int, actor: Actor | None = None
) -> None:
    """Delete a face image."""
    session.delete(get_face(session=session, person_id=person_id, face_id=face_id))
    session.flush()
    audit_change(session, actor, "face.delete", person=_person(session, person_id), face_id=face_id)


def decode_template(text: str) -> bytes:
    """The bytes of a base64 fingerprint template."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("fingerprint template is not valid base64") from None
    if not data:
        raise Invalid("fingerprint template is empty")
    if len(data) > MAX_TEMPLATE_BYTES:
        raise Invalid(f"fingerprint template is larger than {MAX_TEMPLATE_BYTES} bytes")
    return data


def add_fingerprint(
    *, session: Session, person_id: int, name: str, template: bytes, actor: Actor | None = None
) -> Fingerprint:
    """Add a named fingerprint template (opaque bytes)."""
    person = _person(session, person_id)
    names = set(session.scalars(select(Fingerprint.name).where(Fingerprint.person_id == person.id)))
    if name in names:
        raise Conflict(f"person {person.user_id} already has a fingerprint named {name!r}")
    if len(names) >= MAX_FINGERPRINTS:
        raise Invalid(f"a person can have at most {MAX_FINGERPRINTS} fingerprints")
    fingerprint = Fingerprint(person_id=person_id, name=name, template=template)
    session.add(fingerprint)
    session.flush()
    audit_change(session, actor, "fingerprint.create", person=person, name=name)
    return fingerprint


def get_fingerprint(*, session: Session, person_id: int, fingerprint_id: int) -> Fingerprint:
    """A fingerprint of a person, or NotFound."""
    fingerprint = session.get(Fingerprint, fingerprint_id)
    if fingerprint is None or fingerprint.person_id != person_id:
        raise NotFound(f"person {person_id} has no fingerprint {fingerprint_id}")
    return fingerprint


def delete_fingerprint(
    *, session: Session, person_id: int, fingerprint_id: int, actor: Actor | None = None
) -> None:
    """Delete a fingerprint."""
    fingerprint = get_fingerprint(
        session=session, person_id=person_id, fingerprint_id=fingerprint_id
    )
    session.delete(fingerprint)
    session.flush()
    person = _person(session, person_id)
    audit_change(session, actor, "fingerprint.delete", person=person, fingerprint_id=fingerprint_id)


def set_password(
    *,
    session: Session,
    person_id: int,
    password: str,
    secret_key: str,
    actor: Actor | None = None,
) -> None:
    """Set the person's password: 6-8 digits, stored encrypted (audited without it)."""
    person = _person(session, person_id)
    if not _PIN.fullmatch(password):
        raise Invalid("password must consist of 6-8 digits")
    person.password_encrypted = encrypt_pin(password, secret_key=secret_key)
    session.flush()
    audit_change(session, actor, "password.set", person=person)


def clear_password(*, session: Session, person_id: int, actor: Actor | None = None) -> None:
    """Remove the person's password."""
    person = _person(session, person_id)
    person.password_encrypted = None
    session.flush()
    audit_change(session, actor, "password.delete", person=person)


def get_password(*, session: Session, person_id: int, secret_key: str) -> str | None:
    """The clear password, for pushing to access devices (never log it)."""
    person = _person(session, person_id)
    if person.password_encrypted is None:
        return None
    return decrypt_pin(person.password_encrypted, secret_key=secret_key)
