"""One audit entry shape for every personnel change, recorded by the people services."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openpss.platform.people.models import Person
from openpss.platform.security.audit import Actor, record_audit


def audit_change(
    session: Session,
    actor: Actor | None,
    action: str,
    *,
    person: Person | None = None,
    target: str = "",
    **detail: Any,
) -> None:
    """Record a change: a person's target is `person:<user ID>`.

    Nothing is recorded when `actor` is None: the call is one step of a larger change (batch,
    import, extraction from a device) that records its own entry.
    """
    if actor is None:
        return
    if person is not None:
        target = f"person:{person.user_id}"
    record_audit(session=session, actor=actor, action=action, target=target, detail=detail or "")
