"""Batch delete (issue 8 item 2): no 500 after a delete; the audit log holds only what committed.

Before the fix the console's batch delete re-read the deleted persons (NotFound -> 500, the
delete rolled back) after the audit line had already gone to the log.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from openpss.platform.people.models import Person
from openpss.platform.security.audit import SYSTEM, record_audit
from openpss.platform.security.models import AuditEntry
from tests.conftest import Api
from tests.support import people_console
from tests.support.people_api import P
from tests.support.people_console import Console

console = people_console.console  # the operator's console session (fixture)


def _count(api: Api, model: type) -> int:
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _audited(api: Api, action: str) -> list[str]:
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        return list(s.scalars(select(AuditEntry.detail).where(AuditEntry.action == action)))


def test_console_batch_delete_answers_200_and_audits_once(
    console: Console, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    added = console.post("/people/batch/add", {"start_user_id": "700", "quantity": "3"})
    assert added.status_code == 200
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        ids = [str(i) for i in s.scalars(select(Person.id).order_by(Person.user_id))][:2]
    with caplog.at_level(logging.INFO, logger="openpss.audit"):
        response = console.post("/people/batch/delete", {"ids": ids})
    assert response.status_code == 200, response.text
    assert "deleted 2 person(s)" in response.text
    assert _count(api, Person) == 1
    details = _audited(api, "person.batch_delete")
    assert len(details) == 1 and '"700"' in details[0] and '"701"' in details[0]
    assert [r for r in caplog.records if "action=person.batch_delete" in r.getMessage()]


def test_failed_batch_delete_leaves_no_audit_trace(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    h = api.headers()
    body = {"start_user_id": "800", "quantity": "2"}
    assert api.client.post(f"{P}/batch/add", json=body, headers=h).status_code in (200, 201)
    persons = api.client.get(f"{P}/persons", headers=h).json()["items"]
    ids = [p["id"] for p in persons]
    with caplog.at_level(logging.INFO, logger="openpss.audit"):
        missing = api.client.post(
            f"{P}/batch/delete", json={"person_ids": [*ids, 99999]}, headers=h
        )
    assert missing.status_code == 404 and "99999" in missing.json()["detail"]
    assert _count(api, Person) == 2
    assert _audited(api, "person.batch_delete") == []
    assert not [r for r in caplog.records if "person.batch_delete" in r.getMessage()]
    # The same delete without the bad ID goes through and is audited.
    with caplog.at_level(logging.INFO, logger="openpss.audit"):
        done = api.client.post(f"{P}/batch/delete", json={"person_ids": ids}, headers=h)
    assert done.status_code == 204
    assert _count(api, Person) == 0
    assert len(_audited(api, "person.batch_delete")) == 1
    assert len([r for r in caplog.records if "person.batch_delete" in r.getMessage()]) == 1


def test_audit_line_of_a_rolled_back_change_is_never_logged(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="openpss.audit"):
        record_audit(session=session, actor=SYSTEM, action="person.delete", target="rolled back")
        session.rollback()
        record_audit(session=session, actor=SYSTEM, action="person.delete", target="committed")
        assert "committed" not in caplog.text  # not before the commit
        session.commit()
    assert "target=committed" in caplog.text
    assert "rolled back" not in caplog.text
    assert list(session.scalars(select(AuditEntry.target))) == ["committed"]
