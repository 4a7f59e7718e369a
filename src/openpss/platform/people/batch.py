"""Batch operations: add, issue cards, edit, delete (manual 1.4.2, 1.5, 1.9); all-or-nothing."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.platform.errors import Conflict, DomainError, Invalid
from openpss.platform.people import org
from openpss.platform.people.audit import audit_change
from openpss.platform.people.cards import format_card, get_card_mode, parse_card
from openpss.platform.people.credentials import MAX_CARDS, new_card
from openpss.platform.people.models import Card, Person
from openpss.platform.people.schemas import BatchAdd, BatchEdit, PersonCreate
from openpss.platform.people.service import build_person, check_rules, persons_by_ids
from openpss.platform.security.audit import Actor

logger = logging.getLogger(__name__)


def batch_user_ids(start: str, quantity: int) -> list[str]:
    """Consecutive numeric user IDs from `start`, keeping its zero padding."""
    first = int(start)
    ids = [str(first + i).rjust(len(start), "0") for i in range(quantity)]
    if len(ids[-1]) > 32:
        raise Invalid("the last user ID of the batch would be longer than 32 digits")
    return ids


def batch_add(*, session: Session, data: BatchAdd, actor: Actor | None = None) -> list[Person]:
    """Add `quantity` persons with consecutive user IDs; the name starts as the user ID."""
    user_ids = batch_user_ids(data.start_user_id, data.quantity)
    taken = list(session.scalars(select(Person.user_id).where(Person.user_id.in_(user_ids))))
    if taken:
        shown = ", ".join(sorted(taken)[:10])
        raise Conflict(f"user ID(s) already in use: {shown}; choose another start user ID")
    persons = [
        build_person(
            session=session,
            data=PersonCreate(
                user_id=user_id,
                name=user_id,
                department_id=data.department_id,
                valid_from=data.valid_from,
                valid_to=data.valid_to,
            ),
        )
        for user_id in user_ids
    ]
    session.add_all(persons)
    session.flush()
    start, quantity = data.start_user_id, data.quantity
    audit_change(session, actor, "person.batch_add", start_user_id=start, quantity=quantity)
    return persons


def batch_issue_cards(
    *,
    session: Session,
    person_ids: list[int],
    card_numbers: list[str],
    actor: Actor | None = None,
) -> list[Card]:
    """Issue card_numbers[i] to person_ids[i]; nothing is issued unless every card is valid."""
    if len(person_ids) != len(card_numbers):
        raise Invalid(
            f"{len(person_ids)} person(s) selected but {len(card_numbers)} card number(s) given; "
            "give one card number per person"
        )
    if len(set(person_ids)) != len(person_ids):
        raise Invalid("a person is selected twice")
    mode = get_card_mode(session)
    persons = {p.id: p for p in persons_by_ids(session=session, person_ids=person_ids)}
    errors: list[str] = []
    numbers: list[str] = []
    for position, text in enumerate(card_numbers, start=1):
        try:
            numbers.append(parse_card(text, mode))
        except DomainError as exc:
            errors.append(f"card {position}: {exc}")
    if errors:
        raise Invalid("; ".join(errors))
    _check_batch_cards(session, numbers, [persons[i] for i in person_ids])
    cards = []
    for person_id, number in zip(person_ids, numbers, strict=True):
        card = new_card(number)
        persons[person_id].cards.append(card)
        cards.append(card)
    session.flush()
    shown = [format_card(c.number, mode) for c in cards]
    audit_change(session, actor, "card.batch_issue", persons=person_ids, cards=shown)
    return cards


def _check_batch_cards(session: Session, numbers: list[str], persons: list[Person]) -> None:
    mode = get_card_mode(session)
    seen: set[str] = set()
    errors = []
    for number in numbers:
        if number in seen:
            errors.append(f"card {format_card(number, mode)} is listed twice")
        seen.add(number)
    existing = session.execute(
        select(Card.number, Person.user_id).join(Person).where(Card.number.in_(numbers))
    ).all()
    errors += [f"card {format_card(n, mode)} is already issued to user {u}" for n, u in existing]
    full = [p.user_id for p in persons if len(p.cards) >= MAX_CARDS]
    errors += [f"user {user_id} already holds {MAX_CARDS} cards" for user_id in full]
    if errors:
        raise Conflict("; ".join(errors))


def batch_edit(*, session: Session, data: BatchEdit, actor: Actor | None = None) -> list[Person]:
    """Change department and/or validity of the selected persons."""
    if data.department_id is None and data.valid_from is None and data.valid_to is None:
        raise Invalid("choose a department or a validity time to change")
    persons = persons_by_ids(session=session, person_ids=data.person_ids)
    if data.department_id is not None:
        org.get_department(session=session, department_id=data.department_id)
    for person in persons:
        _apply_edit(person, data.department_id, data.valid_from, data.valid_to)
    session.flush()
    audit_change(session, actor, "person.batch_edit", **data.model_dump(mode="json"))
    return persons


def _apply_edit(
    person: Person,
    department_id: int | None,
    valid_from: dt.datetime | None,
    valid_to: dt.datetime | None,
) -> None:
    if department_id is not None:
        person.department_id = department_id
    person.valid_from = valid_from or person.valid_from
    person.valid_to = valid_to or person.valid_to
    try:
        check_rules(person)
    except DomainError as exc:
        raise Invalid(f"user {person.user_id}: {exc}") from None


def batch_delete(*, session: Session, person_ids: list[int], actor: Actor) -> int:
    """Delete the selected persons with their credentials, audited once the delete succeeded.

    Their device entries are queued for removal by the permission hooks in the same flush.
    """
    persons = persons_by_ids(session=session, person_ids=person_ids)
    for person in persons:
        session.delete(person)
    session.flush()
    user_ids = [p.user_id for p in persons]
    audit_change(
        session, actor, "person.batch_delete", persons=sorted(person_ids), user_ids=user_ids
    )
    return len(persons)


def count_persons(*, session: Session) -> int:
    """How many persons exist."""
    return session.scalar(select(func.count()).select_from(Person)) or 0
