"""Demo data: two permission groups over the demo department tree (idempotent)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices.models import Device
from openpss.platform.people.models import Department
from openpss.platform.permissions import service
from openpss.platform.permissions.models import PermissionGroup, TimeTemplate
from openpss.platform.permissions.schemas import (
    DoorRef,
    PermissionGroupCreate,
    TimeTemplateCreate,
)

logger = logging.getLogger(__name__)
OFFICE_HOURS = "Office hours"


def _office_hours(session: Session) -> TimeTemplate:
    found = session.scalar(select(TimeTemplate).where(TimeTemplate.name == OFFICE_HOURS))
    if found is not None:
        return found
    weekdays: list[list[tuple[str, str]]] = [[("08:00", "12:00"), ("13:00", "18:00")]] * 5
    data = TimeTemplateCreate(
        name=OFFICE_HOURS, remark="Monday to Friday", weekly=[*weekdays, [], []]
    )
    return service.create_template(session=session, data=data)


def seed_demo_permissions(*, session: Session) -> list[PermissionGroup]:
    """Create "Staff all day" (card + password, whole company) and "Office hours" (card + face)."""
    departments = list(session.scalars(select(Department).order_by(Department.id)))
    roots = [d.id for d in departments if d.parent_id is None]
    others = [d.id for d in departments if d.parent_id is not None]
    doors = [
        DoorRef(device_id=device_id)
        for device_id in session.scalars(select(Device.id).order_by(Device.id))
    ]
    specs = [
        ("Staff all day", "every employee, any time", None, ["card", "password"], roots),
        (
            OFFICE_HOURS,
            "office staff on weekdays",
            _office_hours(session).id,
            ["card", "face"],
            others[:1] or roots,
        ),
    ]
    groups: list[PermissionGroup] = []
    for name, remark, template_id, methods, dep_ids in specs:
        group = session.scalar(select(PermissionGroup).where(PermissionGroup.name == name))
        if group is None:
            data = PermissionGroupCreate(
                name=name,
                remark=remark,
                time_template_id=template_id,
                verification_methods=methods,
                doors=doors,
                department_ids=dep_ids,
            )
            group = service.create_group(session=session, data=data)
            logger.info("demo permission group %s created", name)
        groups.append(group)
    return groups
