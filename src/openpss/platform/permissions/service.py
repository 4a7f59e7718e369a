"""Rules of time templates and permission groups; group changes re-queue only affected tasks."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from openpss.platform.db import contains_text, utcnow
from openpss.platform.devices.models import Device
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.people.models import Department, Person
from openpss.platform.permissions import tasks
from openpss.platform.permissions.models import (
    ALL_DAY_TEMPLATE,
    PermissionGroup,
    PermissionGroupDepartment,
    PermissionGroupDoor,
    PermissionGroupPerson,
    TimeTemplate,
    TimeTemplateHoliday,
)
from openpss.platform.permissions.schemas import (
    DoorRef,
    GroupQuery,
    PermissionGroupCreate,
    PermissionGroupRead,
    PermissionGroupUpdate,
    TimeTemplateCreate,
    TimeTemplateUpdate,
)
from openpss.platform.security.audit import SYSTEM, Actor, record_audit

logger = logging.getLogger(__name__)
ALL_DAY_WEEKLY = [[["00:00", "24:00"]] for _ in range(7)]


# ---------------------------------------------------------------- time templates


def ensure_default_template(*, session: Session) -> TimeTemplate:
    """The "All day" template, created if it is missing."""
    template = session.scalar(select(TimeTemplate).where(TimeTemplate.name == ALL_DAY_TEMPLATE))
    if template is None:
        template = TimeTemplate(name=ALL_DAY_TEMPLATE, remark="default", weekly=ALL_DAY_WEEKLY)
        session.add(template)
        session.flush()
    return template


def get_template(*, session: Session, template_id: int) -> TimeTemplate:
    """The time template with this id, or NotFound."""
    template = session.get(TimeTemplate, template_id)
    if template is None:
        raise NotFound(f"time template {template_id} does not exist")
    return template


def list_templates(*, session: Session) -> list[TimeTemplate]:
    """All time templates by name (the default one is created on first use)."""
    ensure_default_template(session=session)
    return list(session.scalars(select(TimeTemplate).order_by(TimeTemplate.name)))


def _template_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    found = session.scalar(select(TimeTemplate.id).where(TimeTemplate.name == name))
    if found is not None and found != own_id:
        raise Conflict(f"a time template named '{name}' already exists; choose another name")


def _set_holidays(template: TimeTemplate, holidays: Sequence[Any]) -> None:
    template.holidays = [
        TimeTemplateHoliday(day=h.day, name=h.name, segments=[list(s) for s in h.segments])
        for h in holidays
    ]


def create_template(
    *, session: Session, data: TimeTemplateCreate, actor: Actor = SYSTEM
) -> TimeTemplate:
    """Add a time template (audited)."""
    _template_name_free(session, data.name)
    weekly = [[list(s) for s in day] for day in data.weekly]
    template = TimeTemplate(name=data.name, remark=data.remark, weekly=weekly)
    _set_holidays(template, data.holidays)
    session.add(template)
    session.flush()
    record_audit(
        session=session, actor=actor, action="time_template.create", target=template.name,
        detail=data.model_dump(mode="json"),
    )  # fmt: skip
    return template


def update_template(
    *, session: Session, template_id: int, data: TimeTemplateUpdate, actor: Actor = SYSTEM
) -> TimeTemplate:
    """Change a template (audited); groups using it have their tasks re-queued when the
    times change."""
    template = get_template(session=session, template_id=template_id)
    if data.name is not None and data.name != template.name:
        if template.name == ALL_DAY_TEMPLATE:
            raise Invalid(f"the default template '{ALL_DAY_TEMPLATE}' cannot be renamed")
        _template_name_free(session, data.name, template.id)
        template.name = data.name
    if data.remark is not None:
        template.remark = data.remark
    times_changed = False
    if data.weekly is not None:
        template.weekly = [[list(s) for s in day] for day in data.weekly]
        times_changed = True
    if data.holidays is not None:
        template.holidays.clear()
        session.flush()
        _set_holidays(template, data.holidays)
        times_changed = True
    session.flush()
    if times_changed:
        query = select(PermissionGroup.id).where(PermissionGroup.time_template_id == template.id)
        for group_id in session.scalars(query).all():
            _requeue_whole_group(session, group_id)
    record_audit(
        session=session, actor=actor, action="time_template.update", target=template.name,
        detail=data.model_dump(mode="json", exclude_unset=True),
    )  # fmt: skip
    return template


def delete_template(*, session: Session, template_id: int, actor: Actor = SYSTEM) -> TimeTemplate:
    """Delete a template that no group uses (the default one stays); audited."""
    template = get_template(session=session, template_id=template_id)
    if template.name == ALL_DAY_TEMPLATE:
        raise Invalid(f"the default template '{ALL_DAY_TEMPLATE}' cannot be deleted")
    users = session.scalars(
        select(PermissionGroup.name).where(PermissionGroup.time_template_id == template.id)
    ).all()
    if users:
        raise Conflict(
            f"time template '{template.name}' is used by permission group(s) "
            + ", ".join(sorted(users))
            + "; choose another template there first"
        )
    session.delete(template)
    session.flush()
    record_audit(session=session, actor=actor, action="time_template.delete", target=template.name)
    return template


# ---------------------------------------------------------------- permission groups


def get_group(*, session: Session, group_id: int) -> PermissionGroup:
    """The permission group with this id, or NotFound."""
    group = session.get(PermissionGroup, group_id)
    if group is None:
        raise NotFound(f"permission group {group_id} does not exist")
    return group


def _group_name_free(session: Session, name: str, own_id: int | None = None) -> None:
    found = session.scalar(select(PermissionGroup.id).where(PermissionGroup.name == name))
    if found is not None and found != own_id:
        raise Conflict(f"a permission group named '{name}' already exists; choose another name")


def _check_doors(session: Session, doors: Sequence[DoorRef]) -> list[tuple[int, int]]:
    wanted = sorted({(d.device_id, d.door) for d in doors})
    devices = {
        d.id: d
        for d in session.scalars(select(Device).where(Device.id.in_({d for d, _ in wanted})))
    }
    for device_id, door in wanted:
        device = devices.get(device_id)
        if device is None:
            raise NotFound(f"device {device_id} does not exist; add it in the device manager")
        if door > device.door_count:
            raise Invalid(
                f"device '{device.name}' has {device.door_count} door(s); "
                f"door {door} does not exist"
            )
    return wanted


def _check_ids(session: Session, model: Any, ids: Iterable[int], what: str) -> list[int]:
    wanted = sorted(set(ids))
    found: set[int] = set()
    for batch in tasks.chunks(wanted):
        found.update(session.scalars(select(model.id).where(model.id.in_(batch))))
    missing = [i for i in wanted if i not in found]
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        raise NotFound(f"{what} {shown} do(es) not exist")
    return wanted


def _template_id(session: Session, template_id: int | None) -> int:
    if template_id is None:
        return ensure_default_template(session=session).id
    return get_template(session=session, template_id=template_id).id


def create_group(
    *, session: Session, data: PermissionGroupCreate, actor: Actor = SYSTEM
) -> PermissionGroup:
    """Add a permission group with its doors and assignments, and queue its tasks; audited."""
    _group_name_free(session, data.name)
    _check_doors(session, data.doors)  # validate everything before writing anything
    _check_ids(session, Person, data.person_ids, "person(s)")
    _check_ids(session, Department, data.department_ids, "department(s)")
    group = PermissionGroup(
        name=data.name,
        remark=data.remark,
        time_template_id=_template_id(session, data.time_template_id),
        verification_methods=list(data.verification_methods),
    )
    session.add(group)
    session.flush()
    _replace_doors(session, group, data.doors)
    _replace_members(session, group, data.person_ids)
    _replace_departments(session, group, data.department_ids)
    _requeue_whole_group(session, group.id)
    record_audit(
        session=session, actor=actor, action="permission_group.create", target=group.name,
        detail=data.model_dump(mode="json"),
    )  # fmt: skip
    return group


def _replace_doors(session: Session, group: PermissionGroup, doors: Sequence[DoorRef]) -> None:
    wanted = _check_doors(session, doors)
    session.execute(delete(PermissionGroupDoor).where(PermissionGroupDoor.group_id == group.id))
    session.add_all(PermissionGroupDoor(group_id=group.id, device_id=d, door=n) for d, n in wanted)
    session.flush()
    session.expire(group, ["doors"])


def _replace_members(session: Session, group: PermissionGroup, person_ids: Iterable[int]) -> None:
    wanted = _check_ids(session, Person, person_ids, "person(s)")
    member = PermissionGroupPerson
    session.execute(delete(member).where(member.group_id == group.id))
    _insert_links(session, member, "person_id", group.id, wanted)


def _replace_departments(session: Session, group: PermissionGroup, dep_ids: Iterable[int]) -> None:
    wanted = _check_ids(session, Department, dep_ids, "department(s)")
    link = PermissionGroupDepartment
    session.execute(delete(link).where(link.group_id == group.id))
    _insert_links(session, link, "department_id", group.id, wanted)


def _insert_links(session: Session, model: Any, column: str, group_id: int, ids: list[int]) -> None:
    if ids:
        session.execute(model.__table__.insert(), [{"group_id": group_id, column: i} for i in ids])
    session.flush()


def _snapshot(session: Session, group_id: int) -> set[tasks.Pair]:
    persons = tasks.group_person_ids(session, group_id)
    devices = tasks.group_device_ids(session, group_id)
    return set(itertools.product(persons, devices))


def _requeue_whole_group(session: Session, group_id: int) -> int:
    return tasks.requeue(session, push=_snapshot(session, group_id))


def update_group(
    *, session: Session, group_id: int, data: PermissionGroupUpdate, actor: Actor = SYSTEM
) -> PermissionGroup:
    """Change a group (audited); only tasks of pairs it gains, loses or changes the rules for
    re-queue."""
    group = _update_group(session, group_id, data)
    detail = data.model_dump(mode="json", exclude_unset=True)
    record_audit(
        session=session, actor=actor, action="permission_group.update", target=group.name,
        detail=detail,
    )  # fmt: skip
    return group


def _update_group(session: Session, group_id: int, data: PermissionGroupUpdate) -> PermissionGroup:
    group = get_group(session=session, group_id=group_id)
    before = _snapshot(session, group.id)
    doors_before = _door_set(session, group.id)
    rules_changed = False
    if data.name is not None and data.name != group.name:
        _group_name_free(session, data.name, group.id)
        group.name = data.name
    if data.remark is not None:
        group.remark = data.remark
    if data.time_template_id is not None and data.time_template_id != group.time_template_id:
        group.time_template_id = _template_id(session, data.time_template_id)
        rules_changed = True
    if data.verification_methods is not None:
        rules_changed |= list(data.verification_methods) != group.verification_methods
        group.verification_methods = list(data.verification_methods)
    if data.doors is not None:
        _replace_doors(session, group, data.doors)
    if data.person_ids is not None:
        _replace_members(session, group, data.person_ids)
    if data.department_ids is not None:
        _replace_departments(session, group, data.department_ids)
    group.updated_at = utcnow()
    session.flush()
    after = _snapshot(session, group.id)
    push = after if rules_changed else (after - before) | tasks.missing_pairs(session, after)
    # A device that lost (or gained) one of its doors keeps the person: re-send their doors.
    redoored = {device for device, _ in doors_before ^ _door_set(session, group.id)}
    push |= {pair for pair in after if pair[1] in redoored}
    tasks.requeue(session, push=push, check=before - after)
    return group


def _door_set(session: Session, group_id: int) -> set[tuple[int, int]]:
    link = PermissionGroupDoor
    query = select(link.device_id, link.door).where(link.group_id == group_id)
    return {(device, door) for device, door in session.execute(query)}


def change_members(
    *,
    session: Session,
    group_id: int,
    add: Iterable[int] = (),
    remove: Iterable[int] = (),
    actor: Actor = SYSTEM,
) -> PermissionGroup:
    """Add and remove directly assigned persons of a group (audited)."""
    group = get_group(session=session, group_id=group_id)
    current = set(group_member_ids(session=session, group_id=group.id))
    wanted = (current | set(add)) - set(remove)
    group = _update_group(session, group.id, PermissionGroupUpdate(person_ids=sorted(wanted)))
    _audit_membership(session, actor, group, "persons", add, remove)
    return group


def change_departments(
    *,
    session: Session,
    group_id: int,
    add: Iterable[int] = (),
    remove: Iterable[int] = (),
    actor: Actor = SYSTEM,
) -> PermissionGroup:
    """Add and remove whole departments (with their sub-departments) of a group (audited)."""
    group = get_group(session=session, group_id=group_id)
    link = PermissionGroupDepartment
    current = set(session.scalars(select(link.department_id).where(link.group_id == group.id)))
    wanted = (current | set(add)) - set(remove)
    group = _update_group(session, group.id, PermissionGroupUpdate(department_ids=sorted(wanted)))
    _audit_membership(session, actor, group, "departments", add, remove)
    return group


def _audit_membership(
    session: Session,
    actor: Actor,
    group: PermissionGroup,
    what: str,
    add: Iterable[int],
    remove: Iterable[int],
) -> None:
    record_audit(
        session=session, actor=actor, action=f"permission_group.{what}", target=group.name,
        detail={"add": list(add), "remove": list(remove)},
    )  # fmt: skip


def delete_group(*, session: Session, group_id: int, actor: Actor = SYSTEM) -> PermissionGroup:
    """Delete a group (audited); persons lose its doors unless another group grants them."""
    group = get_group(session=session, group_id=group_id)
    before = _snapshot(session, group.id)
    session.delete(group)
    session.flush()
    tasks.requeue(session, check=before)
    record_audit(session=session, actor=actor, action="permission_group.delete", target=group.name)
    return group


def list_groups(*, session: Session, query: GroupQuery | None = None) -> list[PermissionGroup]:
    """All permission groups by name, optionally filtered by name."""
    statement = select(PermissionGroup).order_by(PermissionGroup.name, PermissionGroup.id)
    if query is not None and query.search:
        statement = statement.where(contains_text(PermissionGroup.name, query.search))
    return list(session.scalars(statement))


def read_groups(
    *, session: Session, groups: Sequence[PermissionGroup]
) -> list[PermissionGroupRead]:
    """Groups with doors, departments and member counts, in a fixed number of queries."""
    ids = [g.id for g in groups]
    if not ids:
        return []
    names = dict(session.execute(select(TimeTemplate.id, TimeTemplate.name)).all())
    doors: dict[int, list[DoorRef]] = {i: [] for i in ids}
    for row in session.scalars(
        select(PermissionGroupDoor)
        .where(PermissionGroupDoor.group_id.in_(ids))
        .order_by(PermissionGroupDoor.device_id, PermissionGroupDoor.door)
    ):
        doors[row.group_id].append(DoorRef(device_id=row.device_id, door=row.door))
    deps: dict[int, list[int]] = {i: [] for i in ids}
    link = PermissionGroupDepartment
    for group_id, dep_id in session.execute(
        select(link.group_id, link.department_id).where(link.group_id.in_(ids))
    ):
        deps[group_id].append(dep_id)
    member = PermissionGroupPerson
    counts = dict(
        session.execute(
            select(member.group_id, func.count())
            .where(member.group_id.in_(ids))
            .group_by(member.group_id)
        ).all()
    )
    return [
        PermissionGroupRead(
            id=g.id,
            name=g.name,
            remark=g.remark,
            time_template_id=g.time_template_id,
            time_template_name=names.get(g.time_template_id, ""),
            verification_methods=list(g.verification_methods),
            doors=doors[g.id],
            department_ids=sorted(deps[g.id]),
            person_count=counts.get(g.id, 0),
        )
        for g in groups
    ]


def group_member_ids(*, session: Session, group_id: int) -> list[int]:
    """Ids of the persons assigned directly to a group."""
    member = PermissionGroupPerson
    return sorted(session.scalars(select(member.person_id).where(member.group_id == group_id)))


# ---------------------------------------------------------------- a person's groups


def person_group_ids(*, session: Session, person_id: int) -> list[int]:
    """Groups the person is assigned to directly."""
    member = PermissionGroupPerson
    return sorted(session.scalars(select(member.group_id).where(member.person_id == person_id)))


def set_person_groups(
    *, session: Session, person_id: int, group_ids: Iterable[int], actor: Actor = SYSTEM
) -> list[int]:
    """Make the person a direct member of exactly these groups (audited); re-queues tasks."""
    if session.get(Person, person_id) is None:
        raise NotFound(f"person {person_id} does not exist")
    wanted = set(_check_ids(session, PermissionGroup, group_ids, "permission group(s)"))
    before = tasks.desired_pairs(session, [person_id])
    member = PermissionGroupPerson
    current = set(person_group_ids(session=session, person_id=person_id))
    if current - wanted:
        session.execute(
            delete(member).where(
                member.person_id == person_id, member.group_id.in_(current - wanted)
            )
        )
    session.add_all(member(group_id=g, person_id=person_id) for g in wanted - current)
    session.flush()
    after = tasks.desired_pairs(session, [person_id])
    tasks.requeue(session, push=after - before, check=before - after)
    record_audit(
        session=session, actor=actor, action="person.permission_groups", target=str(person_id),
        detail={"group_ids": sorted(wanted)},
    )  # fmt: skip
    return sorted(wanted)


def groups_covering_person(*, session: Session, person_id: int) -> list[PermissionGroup]:
    """Every group that covers the person, directly or through a department."""
    ids = tasks.groups_of_persons(session, [person_id]).get(person_id, set())
    if not ids:
        return []
    query = select(PermissionGroup).where(PermissionGroup.id.in_(ids))
    return list(session.scalars(query.order_by(PermissionGroup.name)))
