"""Every change that takes access away queues a tracked removal (services, both databases).

Issue 8 item 1: deleting a person left their card working on the terminal and the task still
read "push / success". Each test here failed before the fix.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices.models import Device
from openpss.platform.people import batch
from openpss.platform.people import service as people
from openpss.platform.people.models import Department, Person
from openpss.platform.people.schemas import PersonUpdate
from openpss.platform.permissions import service, tasks
from openpss.platform.permissions.models import AuthorizationTask, TaskAction, TaskStatus
from openpss.platform.permissions.schemas import (
    DoorRef,
    PermissionGroupCreate,
    PermissionGroupUpdate,
    TaskQuery,
)
from openpss.platform.security.audit import SYSTEM
from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import open_login_session
from tests.conftest import Api

FAR_FUTURE = dt.datetime(2036, 1, 1, tzinfo=dt.UTC)


def _setup(session: Session, *user_ids: str) -> tuple[Device, Department, list[Person]]:
    """Persons in department Staff; group Staff gives them the device's door; all delivered."""
    dep = Department(name="Staff")
    device = Device(name="D1", host="127.0.0.1", username="admin", password_encrypted="")
    session.add_all([dep, device])
    session.flush()
    persons = [
        Person(
            user_id=u,
            name=f"Person {u}",
            department_id=dep.id,
            valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            valid_to=FAR_FUTURE,
        )
        for u in user_ids
    ]
    session.add_all(persons)
    session.flush()
    service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="Staff",
            verification_methods=["card"],
            doors=[DoorRef(device_id=device.id)],
            department_ids=[dep.id],
        ),
    )
    session.commit()
    _deliver_all(session)
    return device, dep, persons


def _deliver_all(session: Session) -> None:
    for task in session.scalars(select(AuthorizationTask)).all():
        if task.status == TaskStatus.pending:
            tasks.mark_task(session=session, task_id=task.id, success=True)
    session.commit()


def _state(session: Session) -> dict[str, tuple[str, str]]:
    session.expire_all()
    rows = session.scalars(select(AuthorizationTask)).all()
    return {t.user_id: (t.action.value, t.status.value) for t in rows}


def test_deleting_a_person_queues_their_removal(session: Session) -> None:
    _setup(session, "1", "2")
    person = session.scalar(select(Person).where(Person.user_id == "1"))
    assert person is not None
    people.delete_person(session=session, person_id=person.id)
    session.commit()
    assert _state(session) == {"1": ("remove", "pending"), "2": ("push", "success")}
    _deliver_all(session)
    # The revoke stays visible as a succeeded removal in the task list.
    done = tasks.list_tasks(session=session, query=TaskQuery(status=TaskStatus.success))
    assert done.total == 2
    assert {(t.user_id, t.action) for t in done.items} == {("1", TaskAction.remove), ("2", "push")}


def test_batch_delete_queues_removals(session: Session) -> None:
    _, _, persons = _setup(session, "1", "2", "3")
    batch.batch_delete(session=session, person_ids=[persons[0].id, persons[2].id], actor=SYSTEM)
    session.commit()
    assert _state(session) == {
        "1": ("remove", "pending"),
        "2": ("push", "success"),
        "3": ("remove", "pending"),
    }


def test_removed_from_group_while_a_repush_is_queued_is_still_revoked(session: Session) -> None:
    device, dep, persons = _setup(session, "1")
    other = Department(name="Visitors")
    session.add(other)
    session.flush()
    # A credential change queues a re-push (attempts reset to 0) ...
    tasks.requeue_person(session=session, person_id=persons[0].id)
    session.commit()
    assert _state(session) == {"1": ("push", "pending")}
    # ... then the person moves to a department that has no group: the device still holds them.
    people.update_person(
        session=session, person_id=persons[0].id, data=PersonUpdate(department_id=other.id)
    )
    session.commit()
    assert _state(session) == {"1": ("remove", "pending")}
    assert device.id and dep.id


def test_validity_end_is_revoked_by_the_periodic_check(session: Session) -> None:
    _, _, persons = _setup(session, "1", "2")
    now = dt.datetime.now(dt.UTC)
    persons[0].valid_to = now + dt.timedelta(hours=1)  # still valid: re-pushed
    session.commit()
    _deliver_all(session)
    assert tasks.revoke_lapsed(session, now=now) == 0
    later = now + dt.timedelta(hours=2)
    assert tasks.revoke_lapsed(session, now=later) == 1
    session.commit()
    assert _state(session) == {"1": ("remove", "pending"), "2": ("push", "success")}
    _deliver_all(session)
    assert tasks.revoke_lapsed(session, now=later) == 0  # once is enough
    # Extending the validity grants the device again.
    persons[0].valid_to = FAR_FUTURE
    session.commit()
    assert _state(session)["1"] == ("push", "pending")


def test_entries_of_persons_deleted_behind_the_orm_are_revoked(session: Session) -> None:
    from sqlalchemy import delete

    _setup(session, "1")
    session.execute(delete(Person).where(Person.user_id == "1"))  # ON DELETE SET NULL
    session.commit()
    assert _state(session) == {"1": ("push", "success")}
    assert tasks.revoke_lapsed(session) == 1
    session.commit()
    assert _state(session) == {"1": ("remove", "pending")}


def test_removal_failure_is_tracked_and_retried(session: Session) -> None:
    _, _, persons = _setup(session, "1")
    people.delete_person(session=session, person_id=persons[0].id)
    session.commit()
    task = session.scalars(select(AuthorizationTask)).one()
    now = dt.datetime.now(dt.UTC)
    tasks.mark_results(session=session, results=[(task.id, tasks.REASON_OFFLINE)], now=now)
    session.commit()
    session.refresh(task)
    assert (task.action, task.status, task.failure_reason) == ("remove", "failed", "offline")
    due = tasks.pending_tasks(
        session=session, device_id=task.device_id, now=now + dt.timedelta(seconds=31)
    )
    assert [t.id for t in due] == [task.id]
    tasks.mark_results(session=session, results=[(task.id, None)])
    session.commit()
    assert _state(session) == {"1": ("remove", "success")}


def test_taking_the_group_off_a_door_queues_removal(session: Session) -> None:
    device, _, _ = _setup(session, "1")
    other = Device(name="D2", host="127.0.0.2", username="admin", password_encrypted="")
    session.add(other)
    session.flush()
    group = service.list_groups(session=session)[0]
    service.update_group(
        session=session,
        group_id=group.id,
        data=PermissionGroupUpdate(doors=[DoorRef(device_id=other.id)]),
    )
    session.commit()
    session.expire_all()
    rows = session.scalars(select(AuthorizationTask)).all()
    assert {(t.device_id, t.action.value, t.status.value) for t in rows} == {
        (device.id, "remove", "pending"),
        (other.id, "push", "pending"),
    }


def test_revokes_are_visible_in_the_api_and_progress_view(api: Api) -> None:
    factory = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as s:
        _, _, persons = _setup(s, "1", "2")
        people.delete_person(session=s, person_id=persons[0].id)
        s.commit()
        _deliver_all(s)
    h = api.headers(Role.viewer)
    page = api.client.get(
        "/api/v1/authorization/tasks", params={"action": "remove", "user_id": "1"}, headers=h
    ).json()
    assert [(t["user_id"], t["action"], t["status"], t["person_id"]) for t in page["items"]] == [
        ("1", "remove", "success", None)
    ]
    devices = api.client.get("/api/v1/authorization/progress/devices", headers=h).json()
    assert (devices[0]["success"], devices[0]["revoked"]) == (2, 1)
    persons_page = api.client.get("/api/v1/authorization/progress/persons", headers=h).json()
    assert {p["user_id"]: p["revoked"] for p in persons_page["items"]} == {"1": 1, "2": 0}
    with factory() as s:
        account = s.scalars(select(Account).where(Account.role == Role.viewer)).one()
        cookie, _ = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        s.commit()
    api.client.cookies.set("openpss_session", cookie)
    html = api.client.get("/permissions/progress").text
    assert '<th title="removals the device applied (part of Success)">Revoked</th>' in html


def test_taking_one_door_off_a_device_resends_the_remaining_doors(session: Session) -> None:
    device, _, _ = _setup(session, "1")
    device.door_count = 2
    group = service.list_groups(session=session)[0]
    two = [DoorRef(device_id=device.id, door=1), DoorRef(device_id=device.id, door=2)]
    service.update_group(session=session, group_id=group.id, data=PermissionGroupUpdate(doors=two))
    session.commit()
    _deliver_all(session)
    one = [DoorRef(device_id=device.id, door=1)]
    service.update_group(session=session, group_id=group.id, data=PermissionGroupUpdate(doors=one))
    session.commit()
    assert _state(session) == {"1": ("push", "pending")}  # the device must drop door 2
