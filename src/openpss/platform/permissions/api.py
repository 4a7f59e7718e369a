"""REST routes of the permissions domain under /api/v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from openpss.platform.deps import Operator, Principal, SessionDep, Viewer
from openpss.platform.fields import DbId
from openpss.platform.permissions import service, tasks
from openpss.platform.permissions.models import PermissionGroup
from openpss.platform.permissions.schemas import (
    GroupQuery,
    MembershipChange,
    PermissionGroupCreate,
    PermissionGroupRead,
    PermissionGroupUpdate,
    PersonGroups,
    ProgressQuery,
    TaskPage,
    TaskQuery,
    TaskRead,
    TimeTemplateCreate,
    TimeTemplateRead,
    TimeTemplateUpdate,
)

router = APIRouter(tags=["permissions"])


# ---------------------------------------------------------------- time templates


@router.get("/time-templates", response_model=list[TimeTemplateRead])
def list_time_templates(session: SessionDep, _: Viewer) -> list[Any]:
    """All time templates ("All day" is always there)."""
    return list(service.list_templates(session=session))


@router.post("/time-templates", response_model=TimeTemplateRead, status_code=201)
def create_time_template(data: TimeTemplateCreate, session: SessionDep, principal: Operator) -> Any:
    """Add a time template (7 days, up to 4 segments a day, holiday exceptions)."""
    return service.create_template(session=session, data=data, actor=principal.actor)


@router.get("/time-templates/{template_id}", response_model=TimeTemplateRead)
def get_time_template(template_id: DbId, session: SessionDep, _: Viewer) -> Any:
    """One time template."""
    return service.get_template(session=session, template_id=template_id)


@router.patch("/time-templates/{template_id}", response_model=TimeTemplateRead)
def update_time_template(
    template_id: DbId, data: TimeTemplateUpdate, session: SessionDep, principal: Operator
) -> Any:
    """Change a time template; groups using it are re-sent to their devices."""
    return service.update_template(
        session=session, template_id=template_id, data=data, actor=principal.actor
    )


@router.delete("/time-templates/{template_id}", status_code=204)
def delete_time_template(template_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a time template no group uses."""
    service.delete_template(session=session, template_id=template_id, actor=principal.actor)
    return Response(status_code=204)


# ---------------------------------------------------------------- permission groups


def _read(session: SessionDep, group: Any) -> PermissionGroupRead:
    return service.read_groups(session=session, groups=[group])[0]


@router.get("/permission-groups", response_model=list[PermissionGroupRead])
def list_permission_groups(
    session: SessionDep, _: Viewer, query: Annotated[GroupQuery, Query()]
) -> list[PermissionGroupRead]:
    """All permission groups with doors, departments and member counts."""
    groups = service.list_groups(session=session, query=query)
    return service.read_groups(session=session, groups=groups)


@router.post("/permission-groups", response_model=PermissionGroupRead, status_code=201)
def create_permission_group(
    data: PermissionGroupCreate, session: SessionDep, principal: Operator
) -> PermissionGroupRead:
    """Add a permission group; its (person, device) tasks are queued."""
    group = service.create_group(session=session, data=data, actor=principal.actor)
    return _read(session, group)


@router.get("/permission-groups/{group_id}", response_model=PermissionGroupRead)
def get_permission_group(group_id: DbId, session: SessionDep, _: Viewer) -> PermissionGroupRead:
    """One permission group."""
    return _read(session, service.get_group(session=session, group_id=group_id))


@router.patch("/permission-groups/{group_id}", response_model=PermissionGroupRead)
def update_permission_group(
    group_id: DbId, data: PermissionGroupUpdate, session: SessionDep, principal: Operator
) -> PermissionGroupRead:
    """Change a group; only the affected tasks are re-queued."""
    group = service.update_group(
        session=session, group_id=group_id, data=data, actor=principal.actor
    )
    return _read(session, group)


@router.delete("/permission-groups/{group_id}", status_code=204)
def delete_permission_group(group_id: DbId, session: SessionDep, principal: Operator) -> Response:
    """Delete a group; its persons are removed from devices no other group grants."""
    service.delete_group(session=session, group_id=group_id, actor=principal.actor)
    return Response(status_code=204)


@router.get("/permission-groups/{group_id}/persons", response_model=list[int])
def group_persons(group_id: DbId, session: SessionDep, _: Viewer) -> list[int]:
    """Ids of the persons assigned directly to the group."""
    service.get_group(session=session, group_id=group_id)
    return service.group_member_ids(session=session, group_id=group_id)


def _change_membership(
    session: Session,
    principal: Principal,
    group_id: DbId,
    data: MembershipChange,
    what: str,
    change: Callable[..., PermissionGroup],
) -> PermissionGroupRead:
    """Apply one membership change (persons or departments); the service audits it."""
    group = change(
        session=session, group_id=group_id, add=data.add, remove=data.remove, actor=principal.actor
    )
    return _read(session, group)


@router.post("/permission-groups/{group_id}/persons", response_model=PermissionGroupRead)
def change_group_persons(
    group_id: DbId, data: MembershipChange, session: SessionDep, principal: Operator
) -> PermissionGroupRead:
    """Assign persons to / withdraw persons from the group."""
    return _change_membership(session, principal, group_id, data, "persons", service.change_members)


@router.post("/permission-groups/{group_id}/departments", response_model=PermissionGroupRead)
def change_group_departments(
    group_id: DbId, data: MembershipChange, session: SessionDep, principal: Operator
) -> PermissionGroupRead:
    """Assign whole departments (with sub-departments) to / withdraw them from the group."""
    return _change_membership(
        session, principal, group_id, data, "departments", service.change_departments
    )


@router.get("/permissions/persons/{person_id}/groups", response_model=PersonGroups)
def get_person_groups(person_id: DbId, session: SessionDep, _: Viewer) -> PersonGroups:
    """The groups a person is assigned to directly."""
    return PersonGroups(group_ids=service.person_group_ids(session=session, person_id=person_id))


@router.put("/permissions/persons/{person_id}/groups", response_model=PersonGroups)
def put_person_groups(
    person_id: DbId, data: PersonGroups, session: SessionDep, principal: Operator
) -> PersonGroups:
    """Set exactly which groups a person belongs to directly."""
    ids = service.set_person_groups(
        session=session, person_id=person_id, group_ids=data.group_ids, actor=principal.actor
    )
    return PersonGroups(group_ids=ids)


# ---------------------------------------------------------------- authorization progress


@router.get("/authorization/progress/devices")
def progress_devices(session: SessionDep, _: Viewer) -> list[dict[str, Any]]:
    """Task counts (pending / success / failed, and revoked: removals done) per device."""
    return tasks.progress_by_device(session=session)


@router.get("/authorization/progress/persons")
def progress_persons(
    session: SessionDep, _: Viewer, query: Annotated[ProgressQuery, Query()]
) -> dict[str, Any]:
    """Task counts per person (paged)."""
    page = tasks.progress_by_person(session=session, query=query)
    return {"total": page.total, "items": page.items}


@router.get("/authorization/tasks", response_model=TaskPage)
def list_authorization_tasks(
    session: SessionDep, _: Viewer, query: Annotated[TaskQuery, Query()]
) -> TaskPage:
    """Authorization tasks filtered by status, device or person; failed ones carry the reason."""
    page = tasks.list_tasks(session=session, query=query)
    return TaskPage(total=page.total, items=[TaskRead.model_validate(t) for t in page.items])


class RetryRequest(BaseModel):
    """Which failed tasks to retry now: given ids, a device's, or all."""

    task_ids: list[DbId] | None = None
    device_id: DbId | None = None


@router.post("/authorization/tasks/retry")
def retry_authorization_tasks(
    data: RetryRequest, session: SessionDep, principal: Operator
) -> dict[str, int]:
    """Put failed tasks back in the queue now."""
    count = tasks.retry_tasks(
        session=session, task_ids=data.task_ids, device_id=data.device_id, actor=principal.actor
    )
    return {"retried": count}
