"""Console pages of the permissions domain: groups, time templates, authorization progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.errors import DomainError, NotFound
from openpss.platform.fields import DbId
from openpss.platform.listing import from_params
from openpss.platform.people.models import Department, Person
from openpss.platform.permissions import service, tasks
from openpss.platform.permissions.models import TaskStatus
from openpss.platform.permissions.schemas import (
    DAY_NAMES,
    VERIFICATION_METHODS,
    PermissionGroupCreate,
    PermissionGroupUpdate,
    ProgressQuery,
    TaskQuery,
    TimeTemplateCreate,
    TimeTemplateUpdate,
)
from openpss.platform.permissions.timespec import parse_segments_text
from openpss.platform.web import flash
from openpss.platform.web.templating import render

router = APIRouter()
PAGE_SIZE = 50


def _errors(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]


def department_rows(session: Session) -> list[tuple[int, str, int]]:
    """Departments as (id, name, depth) in tree order, for indented pickers."""
    rows = session.execute(select(Department.id, Department.name, Department.parent_id)).all()
    children: dict[int | None, list[tuple[int, str]]] = {}
    for dep_id, name, parent_id in rows:
        children.setdefault(parent_id, []).append((dep_id, name))
    ordered: list[tuple[int, str, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for dep_id, name in sorted(children.get(parent, []), key=lambda r: r[1]):
            ordered.append((dep_id, name, depth))
            walk(dep_id, depth + 1)

    walk(None, 0)
    return ordered


def _choices(session: Session) -> dict[str, Any]:
    devices = list(session.scalars(select(Device).order_by(Device.name)))
    return {
        "templates": service.list_templates(session=session),
        "devices": devices,
        "departments": department_rows(session),
        "methods": VERIFICATION_METHODS,
    }


def _user_ids_to_person_ids(session: Session, text: str) -> list[int]:
    wanted = [u for u in text.replace(",", " ").split() if u]
    found: dict[str, int] = {}
    for batch in tasks.chunks(wanted):
        query = select(Person.user_id, Person.id).where(Person.user_id.in_(batch))
        found.update({u: i for u, i in session.execute(query).all()})
    missing = [u for u in wanted if u not in found]
    if missing:
        raise NotFound("no person has user ID " + ", ".join(missing[:10]))
    return [found[u] for u in wanted]


def _group_values(session: Session, form: Any) -> dict[str, Any]:
    doors = []
    for value in form.getlist("doors"):
        device_id, _, door = str(value).partition(":")
        doors.append({"device_id": int(device_id), "door": int(door or 1)})
    template = str(form.get("time_template_id", "")).strip()
    return {
        "name": str(form.get("name", "")).strip(),
        "remark": str(form.get("remark", "")).strip(),
        "time_template_id": int(template) if template else None,
        "verification_methods": [str(m) for m in form.getlist("verification_methods")],
        "doors": doors,
        "department_ids": [int(str(d)) for d in form.getlist("department_ids")],
        "person_ids": _user_ids_to_person_ids(session, str(form.get("person_user_ids", ""))),
    }


def _groups_page(request: Request, session: Session, **extra: Any) -> HTMLResponse:
    groups = service.list_groups(session=session)
    context: dict[str, Any] = {
        "groups": service.read_groups(session=session, groups=groups),
        "device_names": dict(session.execute(select(Device.id, Device.name)).all()),
        "form": {},
        "errors": [],
        "message": "",
        **_choices(session),
    }
    context.update(extra)
    return render(request, "permissions/groups.html", context)


@router.get("/permissions", response_class=HTMLResponse)
def groups_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Permission configuration: the list of permission groups and the add form."""
    return _groups_page(request, session)


@router.post("/permissions", response_class=HTMLResponse)
async def group_add(request: Request, session: SessionDep, principal: Operator) -> HTMLResponse:
    """Create a permission group from the console form."""
    form = await request.form()
    try:
        values = _group_values(session, form)
        data = PermissionGroupCreate.model_validate(values)
        group = service.create_group(session=session, data=data, actor=principal.actor)
    except ValidationError as exc:
        return _groups_page(request, session, form=form, errors=_errors(exc))
    except ValueError as exc:
        session.rollback()
        return _groups_page(request, session, form=form, errors=[str(exc)])
    return _groups_page(request, session, message=f"Permission group '{group.name}' added.")


def _group_edit_page(
    request: Request, session: Session, group_id: DbId, **extra: Any
) -> HTMLResponse:
    group = service.get_group(session=session, group_id=group_id)
    read = service.read_groups(session=session, groups=[group])[0]
    member_ids = service.group_member_ids(session=session, group_id=group.id)
    user_ids: list[str] = []
    for batch in tasks.chunks(member_ids):
        user_ids += session.scalars(select(Person.user_id).where(Person.id.in_(batch))).all()
    context = {
        "group": read,
        "door_keys": {f"{d.device_id}:{d.door}" for d in read.doors},
        "member_user_ids": " ".join(sorted(user_ids)),
        "errors": [],
        "message": "",
        **_choices(session),
    }
    context.update(extra)
    return render(request, "permissions/group_edit.html", context)


@router.get("/permissions/groups/{group_id}", response_class=HTMLResponse)
def group_edit_page(
    request: Request, group_id: DbId, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """One permission group: its settings, doors, departments and persons."""
    return _group_edit_page(request, session, group_id)


@router.post("/permissions/groups/{group_id}", response_class=HTMLResponse)
async def group_edit(
    request: Request, group_id: DbId, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Save a permission group; only affected authorization tasks are re-queued."""
    form = await request.form()
    try:
        data = PermissionGroupUpdate.model_validate(_group_values(session, form))
        service.update_group(session=session, group_id=group_id, data=data, actor=principal.actor)
    except ValidationError as exc:
        return _group_edit_page(request, session, group_id, errors=_errors(exc))
    except ValueError as exc:
        session.rollback()
        return _group_edit_page(request, session, group_id, errors=[str(exc)])
    return _group_edit_page(request, session, group_id, message="Saved.")


@router.post("/permissions/groups/{group_id}/delete")
def group_delete(group_id: DbId, session: SessionDep, principal: Operator) -> RedirectResponse:
    """Delete a permission group."""
    group = service.delete_group(session=session, group_id=group_id, actor=principal.actor)
    return flash.redirect("/permissions", f"Permission group '{group.name}' deleted.")


# ---------------------------------------------------------------- time templates


def _template_values(form: Any) -> dict[str, Any]:
    weekly = [parse_segments_text(str(form.get(f"day{i}", "")), DAY_NAMES[i]) for i in range(7)]
    holidays = []
    for number, line in enumerate(str(form.get("holidays", "")).splitlines(), start=1):
        if not line.strip():
            continue
        day_text, _, rest = line.strip().partition(" ")
        try:
            day = dt.date.fromisoformat(day_text)
        except ValueError as exc:
            raise ValueError(
                f"holidays line {number}: '{day_text}' is not a YYYY-MM-DD date"
            ) from exc
        rest = rest.strip()
        segments = [] if rest.lower() in ("", "closed") else parse_segments_text(rest, day_text)
        holidays.append({"day": day, "segments": segments})
    return {
        "name": str(form.get("name", "")).strip(),
        "remark": str(form.get("remark", "")).strip(),
        "weekly": weekly,
        "holidays": holidays,
    }


def _templates_page(request: Request, session: Session, **extra: Any) -> HTMLResponse:
    context: dict[str, Any] = {
        "templates": service.list_templates(session=session),
        "day_names": DAY_NAMES,
        "form": {},
        "errors": [],
        "message": "",
        "edit": None,
    }
    context.update(extra)
    return render(request, "permissions/templates.html", context)


@router.get("/permissions/templates", response_class=HTMLResponse)
def templates_page(
    request: Request, session: SessionDep, principal: Viewer, edit: int | None = None
) -> HTMLResponse:
    """Time templates: the list, and the add or edit form."""
    template = service.get_template(session=session, template_id=edit) if edit else None
    return _templates_page(request, session, edit=template)


@router.post("/permissions/templates", response_class=HTMLResponse)
async def template_save(request: Request, session: SessionDep, principal: Operator) -> HTMLResponse:
    """Add a time template, or save the edited one (form field template_id)."""
    form = await request.form()
    template_id = int(str(form.get("template_id") or 0))
    edit = service.get_template(session=session, template_id=template_id) if template_id else None
    try:
        values = _template_values(form)
        if edit is None:
            template = service.create_template(
                session=session,
                data=TimeTemplateCreate.model_validate(values),
                actor=principal.actor,
            )
        else:
            template = service.update_template(
                session=session,
                template_id=edit.id,
                data=TimeTemplateUpdate.model_validate(values),
                actor=principal.actor,
            )
    except ValidationError as exc:
        return _templates_page(request, session, form=form, errors=_errors(exc), edit=edit)
    except ValueError as exc:
        session.rollback()
        return _templates_page(request, session, form=form, errors=[str(exc)], edit=edit)
    return _templates_page(request, session, message=f"Time template '{template.name}' saved.")


@router.post("/permissions/templates/{template_id}/delete", response_class=HTMLResponse)
def template_delete(
    request: Request, template_id: DbId, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Delete a time template that no group uses."""
    try:
        template = service.delete_template(
            session=session, template_id=template_id, actor=principal.actor
        )
    except DomainError as exc:
        return _templates_page(request, session, errors=[str(exc)])
    return _templates_page(request, session, message=f"Time template '{template.name}' deleted.")


# ---------------------------------------------------------------- authorization progress


def _progress_page(
    request: Request, session: Session, query: ProgressQuery | None = None, message: str = ""
) -> HTMLResponse:
    query = query or ProgressQuery(limit=PAGE_SIZE)
    persons = tasks.progress_by_person(session=session, query=query)
    failed = tasks.list_tasks(session=session, query=TaskQuery(status=TaskStatus.failed, limit=200))
    context = {
        "devices": tasks.progress_by_device(session=session),
        "persons": persons.items,
        "persons_total": persons.total,
        "page": query.page_number,
        "pages": persons.pages,
        "search": query.search,
        "failed": failed.items,
        "failed_total": failed.total,
        "device_names": dict(session.execute(select(Device.id, Device.name)).all()),
        "message": message,
    }
    return render(request, "permissions/progress.html", context)


@router.get("/permissions/progress", response_class=HTMLResponse)
def progress_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Authorization progress per device and per person, with the failed tasks and reasons."""
    query = from_params(ProgressQuery, request.query_params.multi_items(), limit=PAGE_SIZE)
    return _progress_page(request, session, query)


@router.post("/permissions/progress/retry", response_class=HTMLResponse)
async def progress_retry(
    request: Request, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Retry one failed task (task_id), a device's failed tasks (device_id), or all."""
    form = await request.form()
    task_id = str(form.get("task_id") or "")
    device_id = str(form.get("device_id") or "")
    count = tasks.retry_tasks(
        session=session,
        task_ids=[int(task_id)] if task_id else None,
        device_id=int(device_id) if device_id else None,
        actor=principal.actor,
    )
    return _progress_page(request, session, message=f"{count} failed task(s) queued again.")


# ---------------------------------------------------------------- a person's groups (fragment)


def _person_fragment(
    request: Request, session: Session, person_id: DbId, message: str = "", error: str = ""
) -> HTMLResponse:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"person {person_id} does not exist")
    groups = service.list_groups(session=session)
    covering = service.groups_covering_person(session=session, person_id=person_id)
    direct = set(service.person_group_ids(session=session, person_id=person_id))
    query = TaskQuery(person_id=person_id, limit=100)
    person_tasks = tasks.list_tasks(session=session, query=query).items
    context = {
        "person": person,
        "groups": groups,
        "direct": direct,
        "via_department": [g for g in covering if g.id not in direct],
        "person_tasks": person_tasks,
        "device_names": dict(session.execute(select(Device.id, Device.name)).all()),
        "message": message,
        "error": error,
    }
    return render(request, "permissions/person_groups.html", context)


@router.get("/permissions/person/{person_id}", response_class=HTMLResponse)
def person_groups(
    request: Request, person_id: DbId, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """HTMX fragment: the person's permission groups and authorization state (Permission tab)."""
    return _person_fragment(request, session, person_id)


@router.post("/permissions/person/{person_id}", response_class=HTMLResponse)
async def person_groups_save(
    request: Request, person_id: DbId, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Save the person's directly assigned permission groups."""
    form = await request.form()
    group_ids = [int(str(g)) for g in form.getlist("group_ids")]
    try:
        service.set_person_groups(
            session=session, person_id=person_id, group_ids=group_ids, actor=principal.actor
        )
    except DomainError as exc:
        return _person_fragment(request, session, person_id, error=str(exc))
    return _person_fragment(request, session, person_id, message="Permissions saved.")
