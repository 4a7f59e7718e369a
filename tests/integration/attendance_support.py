"""Shared builders for the attendance integration tests (March 2024: the 4th is a Monday)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from openpss.platform.people.models import Department, Person
from openpss.platform.records.models import AccessRecord

UTC = dt.UTC
FAR = dt.datetime(2099, 12, 31, tzinfo=UTC)


def department(session: Session, name: str, parent: Department | None = None) -> Department:
    row = Department(name=name, parent_id=parent.id if parent else None)
    session.add(row)
    session.flush()
    return row


def person(session: Session, user_id: str, dept: Department) -> Person:
    fields: dict[str, Any] = {"user_id": user_id, "name": f"Person {user_id}"}
    fields["department_id"] = dept.id
    for name, value in (("valid_from", dt.datetime(2000, 1, 1, tzinfo=UTC)), ("valid_to", FAR)):
        if hasattr(Person, name):
            fields[name] = value
    row = Person(**fields)
    session.add(row)
    session.flush()
    return row


def punch(session: Session, user_id: str, text: str, source: str = "device") -> AccessRecord:
    """A punch at local (UTC) time 'YYYY-MM-DD HH:MM[:SS]'."""
    at = dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
    row = AccessRecord(event_time=at, user_id=user_id, source=source, success=True)
    session.add(row)
    session.flush()
    return row
