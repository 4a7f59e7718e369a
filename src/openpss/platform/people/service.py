"""Persons: create, update, delete, search with paging (manual 1.4, 1.7, 1.8)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Select, and_, false, or_, select, union
from sqlalchemy.orm import Session, selectinload

from openpss.platform.db import like_escape, starts_with_text, utcnow
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.listing import Page, paginate
from openpss.platform.people import org
from openpss.platform.people.audit import audit_change
from openpss.platform.people.cards import CardMode, format_card, get_card_mode, search_prefix
from openpss.platform.people.models import Card, Person
from openpss.platform.people.schemas import (
    CardRead,
    FaceRead,
    FingerprintRead,
    PersonCreate,
    PersonQuery,
    PersonRead,
    PersonSummary,
    PersonUpdate,
    SearchField,
)
from openpss.platform.security.audit import Actor

logger = logging.getLogger(__name__)
DEFAULT_VALIDITY_YEARS = 10  # the manual's default validity: 2022/11/29 to 2032/11/29


def default_validity(start: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """Validity from the start of today (or `start`) for ten years, ending at 23:59:59."""
    begin = start or utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    end_day = begin.date().replace(year=begin.year + DEFAULT_VALIDITY_YEARS)
    end = dt.datetime.combine(end_day, dt.time(23, 59, 59), tzinfo=begin.tzinfo or dt.UTC)
    return begin, end


def check_rules(person: Person) -> None:
    """Cross-field rules of a person; Invalid when one is broken."""
    if person.valid_to <= person.valid_from:
        raise Invalid("validity end time must be after the start time")
    if (
        person.employment_date
        and person.termination_date
        and person.termination_date <= person.employment_date
    ):
        raise Invalid("termination date must be after the employment date")


def ensure_user_id_free(session: Session, user_id: str, own_id: int | None = None) -> None:
    """Conflict if another person holds `user_id`."""
    other = session.scalars(select(Person.id).where(Person.user_id == user_id)).first()
    if other is not None and other != own_id:
        raise Conflict(f"user ID {user_id!r} is already used by another person")


def build_person(*, session: Session, data: PersonCreate) -> Person:
    """A validated, not yet added Person from `data` (shared by create, batch and import)."""
    values = data.model_dump()
    department_id = values.pop("department_id") or org.get_root(session=session).id
    org.get_department(session=session, department_id=department_id)
    start, end = default_validity(values.pop("valid_from"))
    values["valid_to"] = values["valid_to"] or end
    person = Person(department_id=department_id, valid_from=start, **values)
    check_rules(person)
    return person


def create_person(*, session: Session, data: PersonCreate, actor: Actor | None = None) -> Person:
    """Add one person (manual 1.4.1); audited when `actor` is given."""
    ensure_user_id_free(session, data.user_id)
    person = build_person(session=session, data=data)
    session.add(person)
    session.flush()
    detail = data.model_dump(include={"name", "department_id", "user_type"})
    audit_change(session, actor, "person.create", person=person, **detail)
    return person


def get_person(*, session: Session, person_id: int) -> Person:
    """One person with cards, faces and fingerprints loaded, or NotFound."""
    query = (
        select(Person)
        .where(Person.id == person_id)
        .options(
            selectinload(Person.department),
            selectinload(Person.cards),
            selectinload(Person.faces),
            selectinload(Person.fingerprints),
        )
    )
    person = session.scalars(query).first()
    if person is None:
        raise NotFound(f"person {person_id} does not exist")
    return person


def update_person(
    *, session: Session, person_id: int, data: PersonUpdate, actor: Actor | None = None
) -> Person:
    """Change the fields sent in `data` (audited: the names of the changed fields)."""
    person = get_person(session=session, person_id=person_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("user_id"):
        ensure_user_id_free(session, changes["user_id"], person.id)
    if "department_id" in changes:
        target = changes["department_id"] or org.get_root(session=session).id
        changes["department_id"] = org.get_department(session=session, department_id=target).id
    for key in ("user_id", "name", "user_type", "valid_from", "valid_to"):
        if key in changes and changes[key] is None:
            raise Invalid(f"{key} cannot be empty")
    for key, value in changes.items():
        setattr(person, key, value)
    check_rules(person)
    session.flush()
    audit_change(session, actor, "person.update", person=person, fields=sorted(changes))
    return person


def delete_person(*, session: Session, person_id: int, actor: Actor | None = None) -> Person:
    """Delete a person with all credentials."""
    person = get_person(session=session, person_id=person_id)
    audit_change(session, actor, "person.delete", person=person)
    session.delete(person)
    session.flush()
    return person


def _prefix(column: Any, text: str) -> Any:
    """An index-friendly prefix match: a range on the column, exact thanks to LIKE."""
    return and_(column >= text, column < text + "\U0010ffff", starts_with_text(column, text))


def _name_contains(session: Session, text: str) -> Any:
    like = f"%{like_escape(text)}%"
    if session.get_bind().dialect.name == "sqlite":
        return Person.name.like(like, escape="\\")  # SQLite LIKE ignores ASCII case already
    return Person.name.ilike(like, escape="\\")


def _card_ids(text: str, mode: CardMode) -> Select[Any] | None:
    prefix = search_prefix(text, mode)
    if prefix is None:
        return None
    column = Card.number if prefix[0] == "number" else Card.number_dec
    match = _prefix(column, prefix[1])
    if mode is CardMode.hex and len(prefix[1]) < 8:
        match = or_(match, Card.number == prefix[1].rjust(8, "0"))  # "FF" finds "000000FF"
    return select(Card.person_id).where(match)


def _conditions(session: Session, text: str, field: SearchField, mode: CardMode) -> list[Any]:
    """One condition per searched field: user ID prefix, name part, card number prefix."""
    conditions: list[Any] = []
    if field in ("any", "id"):
        conditions.append(_prefix(Person.user_id, text))
    if field in ("any", "name"):
        conditions.append(_name_contains(session, text))
    cards = _card_ids(text, mode) if field in ("any", "card") else None
    if cards is not None:
        conditions.append(Person.id.in_(cards))
    return conditions


def _filtered(
    session: Session,
    query: Select[Any],
    *,
    q: str,
    field: SearchField,
    department_id: int | None,
    mode: CardMode,
) -> Select[Any]:
    """`query` restricted to the department subtree and the search text.

    Several fields are combined as a UNION of id sets rather than an OR, so that the user ID
    and card parts stay index range scans; a single field stays a plain condition, so the
    ordered page query can stop at the first `limit` rows.
    """
    if department_id is not None:
        ids = org.subtree_ids(session=session, department_id=department_id)
        query = query.where(Person.department_id.in_(ids))
    text = q.strip()
    if not text:
        return query
    conditions = _conditions(session, text, field, mode)
    if not conditions:
        return query.where(false())
    if len(conditions) == 1:
        return query.where(conditions[0])
    matching = union(*(select(Person.id).where(c) for c in conditions))
    return query.where(Person.id.in_(matching))


def search_persons(*, session: Session, query: PersonQuery) -> Page[Person]:
    """A page of persons matching a user ID prefix, a name part or a card number prefix.

    At most four queries whatever the page size: page, its departments, its cards, and the
    count (skipped when the first page is not full: the page then is the total).
    """
    mode = get_card_mode(session)
    options = {"q": query.q, "field": query.field, "department_id": query.department_id}
    matching = _filtered(session, select(Person), mode=mode, **options)  # type: ignore[arg-type]
    loads = (selectinload(Person.department), selectinload(Person.cards))
    return paginate(session, matching.options(*loads), query, order=(Person.user_id, Person.id))


def persons_by_ids(*, session: Session, person_ids: Iterable[int]) -> list[Person]:
    """The given persons (with cards), NotFound naming any missing ID."""
    wanted = sorted(set(person_ids))
    found = list(
        session.scalars(
            select(Person).where(Person.id.in_(wanted)).options(selectinload(Person.cards))
        )
    )
    missing = sorted(set(wanted) - {p.id for p in found})
    if missing:
        raise NotFound(f"person(s) {', '.join(map(str, missing))} do not exist")
    return found


def card_read(card: Card, mode: CardMode) -> CardRead:
    """A card as the API shows it, in the card issuing type."""
    return CardRead(
        id=card.id,
        number=format_card(card.number, mode),
        number_hex=card.number,
        kind=card.kind,
        frozen=card.frozen,
    )


def summary(person: Person, mode: CardMode) -> PersonSummary:
    """A list row of a person (department and cards must be loaded)."""
    return PersonSummary(
        id=person.id,
        user_id=person.user_id,
        name=person.name,
        department_id=person.department_id,
        department=person.department.name,
        user_type=person.user_type,
        valid_from=person.valid_from,
        valid_to=person.valid_to,
        cards=[card_read(c, mode) for c in person.cards],
    )


EXTENDED = [
    "times_used",
    "gender",
    "title",
    "date_of_birth",
    "tel",
    "email",
    "mailing_address",
    "administrator",
    "remark",
    "id_type",
    "id_number",
    "company",
    "occupation",
    "employment_date",
    "termination_date",
]


def read(person: Person, mode: CardMode) -> PersonRead:
    """A person with every field (faces and fingerprints must be loaded)."""
    extra = {key: getattr(person, key) for key in EXTENDED}
    return PersonRead(
        **summary(person, mode).model_dump(),
        **extra,
        has_password=person.password_encrypted is not None,
        faces=[FaceRead.model_validate(f) for f in person.faces],
        fingerprints=[FingerprintRead.model_validate(f) for f in person.fingerprints],
    )


def summaries(session: Session, persons: Sequence[Person]) -> list[PersonSummary]:
    """List rows in the system's card issuing type."""
    mode = get_card_mode(session)
    return [summary(p, mode) for p in persons]
