"""Keep authorization tasks in step with personnel changes, whoever makes them.

Any flushed change to a person (department, validity, PIN, ...) or to their cards, fingerprints
or face images marks that person; when the transaction commits, their tasks are re-queued
(`tasks.requeue_person`): pushed again, added for devices they gained, queued for removal from
devices they lost. A person deleted through the ORM has their tasks queued for removal in the
same flush (`tasks.persons_deleted`); anything deleted behind the ORM's back is caught by the
device sync's periodic `tasks.revoke_lapsed` (tasks whose person is gone).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from openpss.platform.people.models import Card, FaceImage, Fingerprint, Person
from openpss.platform.permissions import tasks

logger = logging.getLogger(__name__)
_KEY = "openpss.permissions.changed_persons"
_CREDENTIALS = (Card, Fingerprint, FaceImage)


def _person_id(obj: Any) -> int | None:
    if isinstance(obj, Person):
        return obj.id
    if isinstance(obj, _CREDENTIALS):
        person_id = obj.person_id
        if person_id is None:  # deleted credential: take the id it had
            history = inspect(obj).attrs.person_id.history
            person_id = (history.deleted or history.unchanged or [None])[0]
        return person_id
    return None


@event.listens_for(Session, "before_flush")
def _revoke_deleted(session: Session, _flush: UOWTransaction, _instances: Any) -> None:
    deleted = [obj.id for obj in session.deleted if isinstance(obj, Person) and obj.id is not None]
    if deleted:
        count = tasks.persons_deleted(session=session, person_ids=deleted)
        logger.debug(
            "%d person(s) deleted: %d device entries queued for removal", len(deleted), count
        )


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _flush: UOWTransaction) -> None:
    changed: set[int] = session.info.setdefault(_KEY, set())
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Person | Card | Fingerprint | FaceImage) and session.is_modified(obj):
            person_id = _person_id(obj)
            if person_id is not None:
                changed.add(person_id)
    for obj in session.deleted:
        if isinstance(obj, _CREDENTIALS):
            person_id = _person_id(obj)
            if person_id is not None:
                changed.add(person_id)


@event.listens_for(Session, "before_commit")
def _requeue(session: Session) -> None:
    session.flush()  # before_commit runs before the commit's own flush: collect pending changes
    for _ in range(3):  # requeueing flushes, which must not collect anything new
        changed: set[int] = session.info.pop(_KEY, set())
        existing = _existing_persons(session, changed)
        if not existing:
            return
        tasks.requeue_persons(session=session, person_ids=existing)
        session.flush()


def _existing_persons(session: Session, person_ids: set[int]) -> set[int]:
    if not person_ids:
        return set()
    from sqlalchemy import select

    found: set[int] = set()
    for batch in tasks.chunks(sorted(person_ids)):
        found.update(session.scalars(select(Person.id).where(Person.id.in_(batch))))
    return found
