"""Permission groups, time templates and the authorization-task queue (services, both databases)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices.models import Device
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.people.models import Department, Person
from openpss.platform.permissions import service, tasks
from openpss.platform.permissions.models import AuthorizationTask, TaskAction, TaskStatus
from openpss.platform.permissions.schemas import (
    DoorRef,
    PermissionGroupCreate,
    PermissionGroupUpdate,
    ProgressQuery,
    TimeTemplateCreate,
    TimeTemplateUpdate,
)


def _device(session: Session, name: str, doors: int = 1) -> Device:
    device = Device(
        name=name, host="127.0.0.1", username="admin", password_encrypted="", door_count=doors
    )
    session.add(device)
    session.flush()
    return device


def _tree(session: Session) -> tuple[Department, Department, Department]:
    root = Department(name="Company")
    session.add(root)
    session.flush()
    sales = Department(name="Sales", parent_id=root.id)
    session.add(sales)
    session.flush()
    east = Department(name="Sales East", parent_id=sales.id)
    session.add(east)
    session.flush()
    return root, sales, east


def _person(session: Session, user_id: str, department: Department) -> Person:
    person = Person(
        user_id=user_id,
        name=f"Person {user_id}",
        department_id=department.id,
        valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        valid_to=dt.datetime(2036, 1, 1, tzinfo=dt.UTC),
    )
    session.add(person)
    session.flush()
    return person


def _tasks(session: Session) -> dict[tuple[str, int], AuthorizationTask]:
    session.expire_all()  # bulk updates in commit hooks leave loaded objects stale
    rows = session.scalars(select(AuthorizationTask)).all()
    return {(t.user_id, t.device_id): t for t in rows}


def test_default_all_day_template_is_seeded(session: Session) -> None:
    names = [t.name for t in service.list_templates(session=session)]
    assert names == ["All day"]
    template = service.ensure_default_template(session=session)
    assert template.weekly == [[["00:00", "24:00"]]] * 7
    with pytest.raises(Invalid, match="cannot be deleted"):
        service.delete_template(session=session, template_id=template.id)


def test_time_template_with_holidays(session: Session) -> None:
    weekly: list[list[tuple[str, str]]] = [[("13:00", "17:30"), ("08:00", "12:00")]] * 5 + [[]] * 2
    data = TimeTemplateCreate(
        name="Office hours",
        weekly=weekly,
        holidays=[{"day": dt.date(2026, 12, 25), "name": "Christmas"}],
    )
    template = service.create_template(session=session, data=data)
    assert template.weekly[0] == [["08:00", "12:00"], ["13:00", "17:30"]]
    assert [(h.day, h.segments) for h in template.holidays] == [(dt.date(2026, 12, 25), [])]
    with pytest.raises(Conflict, match="already exists"):
        service.create_template(session=session, data=data)


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ([("08:00", "09:00")] * 5, "at most 4"),
        ([("09:00", "08:00")], "must start before it ends"),
        ([("08:00", "12:00"), ("11:59", "13:00")], "overlap"),
        ([("8am", "12:00")], "HH:MM"),
        ([("08:00", "24:01")], "HH:MM"),
    ],
)
def test_time_template_segment_rules(day: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TimeTemplateCreate(name="bad", weekly=[day] + [[]] * 6)


def test_time_template_needs_seven_days() -> None:
    with pytest.raises(ValueError, match="needs 7 days"):
        TimeTemplateCreate(name="bad", weekly=[[]] * 6)


def test_group_over_department_covers_sub_departments(session: Session) -> None:
    _, sales, east = _tree(session)
    alice = _person(session, "1", sales)
    bob = _person(session, "2", east)
    door = _device(session, "Door A")
    group = service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="Sales",
            verification_methods=["card"],
            doors=[DoorRef(device_id=door.id, door=1)],
            department_ids=[sales.id],
        ),
    )
    assert set(_tasks(session)) == {("1", door.id), ("2", door.id)}
    assert all(t.status == TaskStatus.pending for t in _tasks(session).values())
    read = service.read_groups(session=session, groups=[group])[0]
    assert read.time_template_name == "All day"
    assert read.department_ids == [sales.id]
    assert {alice.id, bob.id} == tasks.group_person_ids(session, group.id)


def test_group_validation_messages(session: Session) -> None:
    door = _device(session, "Door A", doors=2)
    base = {"name": "G", "verification_methods": ["card"]}
    with pytest.raises(NotFound, match="device 999 does not exist"):
        service.create_group(
            session=session,
            data=PermissionGroupCreate(**base, doors=[DoorRef(device_id=999)]),
        )
    with pytest.raises(Invalid, match="has 2 door"):
        service.create_group(
            session=session,
            data=PermissionGroupCreate(**base, doors=[DoorRef(device_id=door.id, door=3)]),
        )
    with pytest.raises(ValueError, match="at least 1"):
        PermissionGroupCreate(name="G", verification_methods=[])


def test_only_affected_tasks_are_requeued(session: Session) -> None:
    root, sales, _ = _tree(session)
    p1, p2 = _person(session, "1", sales), _person(session, "2", sales)
    outsider = _person(session, "9", root)  # in no group: no change may queue work for them
    d1, d2 = _device(session, "D1"), _device(session, "D2")
    group = service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="G",
            verification_methods=["card", "password"],
            doors=[DoorRef(device_id=d1.id)],
            person_ids=[p1.id, p2.id],
        ),
    )
    for task in _tasks(session).values():
        tasks.mark_task(session=session, task_id=task.id, success=True)
    # Adding a device queues only the new pairs; the delivered ones stay successful.
    service.update_group(
        session=session,
        group_id=group.id,
        data=PermissionGroupUpdate(doors=[DoorRef(device_id=d1.id), DoorRef(device_id=d2.id)]),
    )
    states = {k: t.status for k, t in _tasks(session).items()}
    assert states == {
        ("1", d1.id): TaskStatus.success,
        ("2", d1.id): TaskStatus.success,
        ("1", d2.id): TaskStatus.pending,
        ("2", d2.id): TaskStatus.pending,
    }
    # Removing a member: their never-sent task is dropped, the delivered one becomes a removal.
    service.change_members(session=session, group_id=group.id, remove=[p2.id])
    current = _tasks(session)
    assert ("2", d2.id) not in current
    assert current[("2", d1.id)].action == TaskAction.remove
    assert current[("1", d1.id)].status == TaskStatus.success
    # A credential change re-queues that person only.
    tasks.requeue_person(session=session, person_id=p1.id)
    assert _tasks(session)[("1", d1.id)].status == TaskStatus.pending
    # Changing the verification methods re-queues every pair of the group.
    for task in _tasks(session).values():
        tasks.mark_task(session=session, task_id=task.id, success=True)
    # The removal that succeeded stays visible as a revoke.
    assert {k: t.action for k, t in _tasks(session).items()} == {
        ("1", d1.id): TaskAction.push,
        ("1", d2.id): TaskAction.push,
        ("2", d1.id): TaskAction.remove,
    }
    service.update_group(
        session=session,
        group_id=group.id,
        data=PermissionGroupUpdate(verification_methods=["card"]),
    )
    after = _tasks(session)
    assert {k: t.status for k, t in after.items()} == {  # nothing for the outsider in the root
        ("1", d1.id): TaskStatus.pending,
        ("1", d2.id): TaskStatus.pending,
        ("2", d1.id): TaskStatus.success,
    }
    assert outsider.department_id == root.id


def test_person_kept_by_another_group_is_not_removed(session: Session) -> None:
    _, sales, _ = _tree(session)
    p1 = _person(session, "1", sales)
    d1 = _device(session, "D1")
    doors = [DoorRef(device_id=d1.id)]
    g1 = service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="G1", verification_methods=["card"], doors=doors, person_ids=[p1.id]
        ),
    )
    service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="G2", verification_methods=["face"], doors=doors, department_ids=[sales.id]
        ),
    )
    service.delete_group(session=session, group_id=g1.id)
    task = _tasks(session)[("1", d1.id)]
    assert task.action == TaskAction.push


def test_person_groups_and_deletion(session: Session) -> None:
    _, sales, _ = _tree(session)
    p1 = _person(session, "7", sales)
    d1 = _device(session, "D1")
    group = service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="G", verification_methods=["card"], doors=[DoorRef(device_id=d1.id)]
        ),
    )
    assert service.set_person_groups(session=session, person_id=p1.id, group_ids=[group.id]) == [
        group.id
    ]
    task = _tasks(session)[("7", d1.id)]
    tasks.mark_task(session=session, task_id=task.id, success=True)
    tasks.person_deleted(session=session, person_id=p1.id)
    session.delete(p1)
    session.flush()
    task = _tasks(session)[("7", d1.id)]
    assert (task.person_id, task.action, task.status) == (None, TaskAction.remove, "pending")
    tasks.mark_task(session=session, task_id=task.id, success=True)
    task = _tasks(session)[("7", d1.id)]
    assert (task.person_id, task.action, task.status) == (None, TaskAction.remove, "success")
    with pytest.raises(NotFound, match="person 12345"):
        service.set_person_groups(session=session, person_id=12345, group_ids=[])


def test_queue_backoff_and_retry(session: Session) -> None:
    _, sales, _ = _tree(session)
    people = [_person(session, str(i), sales) for i in range(1, 4)]
    d1 = _device(session, "D1")
    service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="G",
            verification_methods=["card"],
            doors=[DoorRef(device_id=d1.id)],
            person_ids=[p.id for p in people],
        ),
    )
    now = dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC)
    due = tasks.pending_tasks(session=session, device_id=d1.id, limit=2, now=now)
    assert [t.user_id for t in due] == ["1", "2"]
    tasks.mark_task(session=session, task_id=due[0].id, success=False, reason="offline", now=now)
    tasks.mark_task(session=session, task_id=due[1].id, success=True, now=now)
    # The failed one waits 30 s, then is due again.
    assert [t.user_id for t in tasks.pending_tasks(session=session, device_id=d1.id, now=now)] == [
        "3"
    ]
    later = now + dt.timedelta(seconds=30)
    again = tasks.pending_tasks(session=session, device_id=d1.id, now=later)
    assert [t.user_id for t in again] == ["1", "3"]
    failed = tasks.mark_task(
        session=session,
        task_id=again[0].id,
        success=False,
        reason="device limit reached",
        now=later,
    )
    assert failed is not None
    assert (failed.attempts, failed.next_attempt_at) == (2, later + dt.timedelta(seconds=60))
    assert tasks.retry_tasks(session=session, device_id=d1.id) == 1
    progress = tasks.progress_by_device(session=session)
    assert progress == [
        {
            "id": d1.id,
            "name": "D1",
            "online": False,
            "pending": 2,
            "success": 1,
            "failed": 0,
            "revoked": 0,
        }
    ]
    page = tasks.progress_by_person(session=session, query=ProgressQuery())
    assert page.total == 3
    assert page.items[0]["user_id"] == "1"
    second = tasks.progress_by_person(session=session, query=ProgressQuery(limit=2, page=2))
    assert (second.total, [r["user_id"] for r in second.items]) == (3, ["3"])
    assert tasks.progress_by_person(session=session, query=ProgressQuery(search="2")).total == 1


def test_template_time_change_requeues_its_groups(session: Session) -> None:
    _, sales, _ = _tree(session)
    p1 = _person(session, "1", sales)
    d1 = _device(session, "D1")
    template = service.create_template(
        session=session, data=TimeTemplateCreate(name="T", weekly=[[("08:00", "18:00")]] * 7)
    )
    service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="G",
            verification_methods=["card"],
            time_template_id=template.id,
            doors=[DoorRef(device_id=d1.id)],
            person_ids=[p1.id],
        ),
    )
    task = _tasks(session)[("1", d1.id)]
    tasks.mark_task(session=session, task_id=task.id, success=True)
    service.update_template(
        session=session,
        template_id=template.id,
        data=TimeTemplateUpdate(remark="only a remark"),
    )
    assert _tasks(session)[("1", d1.id)].status == TaskStatus.success
    service.update_template(
        session=session,
        template_id=template.id,
        data=TimeTemplateUpdate(weekly=[[("09:00", "18:00")]] * 7),
    )
    assert _tasks(session)[("1", d1.id)].status == TaskStatus.pending
    with pytest.raises(Conflict, match="used by permission group"):
        service.delete_template(session=session, template_id=template.id)


def test_demo_seed_is_idempotent(session: Session) -> None:
    from openpss.platform.permissions.demo import seed_demo_permissions

    root, sales, _ = _tree(session)
    _person(session, "1", sales)
    _device(session, "Entrance")
    first = seed_demo_permissions(session=session)
    second = seed_demo_permissions(session=session)
    assert [g.name for g in first] == ["Staff all day", "Office hours"]
    assert [g.id for g in first] == [g.id for g in second]
    reads = service.read_groups(session=session, groups=first)
    assert reads[0].verification_methods == ["card", "password"]
    assert reads[1].verification_methods == ["card", "face"]
    assert reads[0].department_ids == [root.id]
    assert len(_tasks(session)) == 1


def test_personnel_changes_requeue_through_session_hooks(session: Session) -> None:
    from openpss.platform.people.models import Card

    _, sales, east = _tree(session)
    d1 = _device(session, "D1")
    service.create_group(
        session=session,
        data=PermissionGroupCreate(
            name="Sales", verification_methods=["card"], doors=[DoorRef(device_id=d1.id)],
            department_ids=[sales.id],
        ),
    )  # fmt: skip
    session.commit()
    # A person added to a covered sub-department gets a task when the transaction commits.
    person = _person(session, "50", east)
    session.commit()
    task = _tasks(session)[("50", d1.id)]
    tasks.mark_task(session=session, task_id=task.id, success=True)
    session.commit()
    # A new card re-queues the person.
    session.add(Card(person_id=person.id, number="0000BEEF", number_dec=str(0xBEEF)))
    session.commit()
    assert _tasks(session)[("50", d1.id)].status == TaskStatus.pending
    # A changed user ID: the old ID is removed from the device, the new one pushed.
    tasks.mark_task(session=session, task_id=task.id, success=True)
    person.user_id = "51"
    session.commit()
    current = _tasks(session)
    assert current[("50", d1.id)].action == TaskAction.remove
    assert current[("50", d1.id)].person_id is None
    assert current[("51", d1.id)].action == TaskAction.push
    # Deleting the person queues their removal (without person); a new person with that ID
    # adopts the task.
    tasks.mark_task(session=session, task_id=current[("51", d1.id)].id, success=True)
    session.delete(person)
    session.commit()
    session.expire_all()
    gone = _tasks(session)[("51", d1.id)]
    assert (gone.person_id, gone.action, gone.status) == (None, TaskAction.remove, "pending")
    newcomer = _person(session, "51", sales)
    session.commit()
    adopted = _tasks(session)[("51", d1.id)]
    assert (adopted.person_id, adopted.action) == (newcomer.id, TaskAction.push)
