"""Console pages of call groups (2.4) and information release (2.5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.deps import Operator, SessionDep, Viewer
from openpss.platform.devices.models import Device
from openpss.platform.intercom import callgroups, information, registrations
from openpss.platform.intercom.errors import IntercomError, NotFound
from openpss.platform.intercom.models import EndpointKind, Level, OrgNode, Registration
from openpss.platform.intercom.schemas import InformationCreate, RegistrationQuery
from openpss.platform.listing import MAX_LIMIT
from openpss.platform.security.models import Account
from openpss.platform.web import flash
from openpss.platform.web.templating import render

router = APIRouter()
GROUPS, INFORMATION = "/intercom/groups", "/intercom/information"


def groups_context(session: Session) -> dict[str, Any]:
    """Groups with members, and what the forms offer."""
    vts = registrations.list_registrations(
        session=session, query=RegistrationQuery(kind=EndpointKind.vts, limit=MAX_LIMIT)
    ).items
    return {
        "groups": callgroups.list_groups(session=session),
        "buildings": session.scalars(
            select(OrgNode).where(OrgNode.level == Level.building).order_by(OrgNode.number)
        ).all(),
        "accounts": session.scalars(select(Account).order_by(Account.username)).all(),
        "vts": vts,
        "errors": [],
    }


def information_context(session: Session) -> dict[str, Any]:
    """Releases with their deliveries, and the bound devices."""
    devices = session.execute(
        select(Device.id, Device.name, Registration.number)
        .join(Registration, Registration.device_id == Device.id)
        .order_by(Device.name)
    ).all()
    return {
        "releases": information.list_information(session=session),
        "devices": devices,
        "errors": [],
    }


async def _act(
    request: Request,
    session: Session,
    page: tuple[str, str, Callable[[Session], dict[str, Any]]],
    action: Callable[[dict[str, Any]], str],
) -> Response:
    url, template, context_of = page
    raw = await request.form()
    form: dict[str, Any] = {k: str(v) for k, v in raw.items() if k != "csrf_token"}
    form["device_ids"] = [int(str(v)) for v in raw.getlist("device_ids") if str(v).isdigit()]
    try:
        notice = action(form)
    except ValidationError as exc:
        errors, status = [f"{e['loc'][-1]}: {e['msg']}" for e in exc.errors()], 422
    except IntercomError as exc:
        errors, status = [str(exc)], 404 if isinstance(exc, NotFound) else 422
    else:
        return flash.redirect(url, notice)
    session.rollback()
    context = context_of(session)
    context["errors"] = errors
    return render(request, template, context, status_code=status)


def _group_page() -> tuple[str, str, Callable[[Session], dict[str, Any]]]:
    return GROUPS, "intercom/groups.html", groups_context


def _information_page() -> tuple[str, str, Callable[[Session], dict[str, Any]]]:
    return INFORMATION, "intercom/information.html", information_context


@router.get("/intercom/groups", response_class=HTMLResponse)
def groups_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Call groups per building."""
    request.state.principal = principal
    return render(request, "intercom/groups.html", groups_context(session))


@router.post("/intercom/groups", response_model=None)
async def group_action(request: Request, session: SessionDep, principal: Operator) -> Response:
    """Create/delete a group; add, move or remove a member (field `op`)."""
    request.state.principal = principal
    actor = principal.actor

    def action(form: dict[str, Any]) -> str:
        op = form.get("op", "")
        ident = int(form.get("id") or 0)
        if op == "create":
            name = str(form.get("name", "")).strip()
            if not name:
                raise IntercomError("enter the group name")
            building = int(form.get("building_id") or 0)
            callgroups.create_group(session=session, actor=actor, name=name, building_id=building)
            return f"Call group {name} added."
        if op == "delete":
            callgroups.delete_group(session=session, actor=actor, group_id=ident)
            return "Call group deleted."
        if op == "add":
            member = str(form.get("member", ""))
            kind, _, number = member.partition(":")
            callgroups.add_member(
                session=session,
                actor=actor,
                group_id=ident,
                account_id=int(number) if kind == "account" and number.isdigit() else None,
                registration_id=int(number) if kind == "vts" and number.isdigit() else None,
            )
            return "Member added."
        if op in ("up", "down"):
            callgroups.move_member(session=session, actor=actor, member_id=ident, direction=op)
            return f"Member moved {op}."
        if op == "remove":
            callgroups.remove_member(session=session, actor=actor, member_id=ident)
            return "Member removed."
        raise IntercomError(f"unknown operation {op!r}")

    response = await _act(request, session, _group_page(), action)
    _invalidate_routing(request, session)
    return response


def _invalidate_routing(request: Request, session: Session) -> None:
    session.commit()
    routing = getattr(getattr(request.app.state, "sip_server", None), "routing", None)
    if routing is not None:
        routing.invalidate()


@router.get("/intercom/information", response_class=HTMLResponse)
def information_page(request: Request, session: SessionDep, principal: Viewer) -> HTMLResponse:
    """Information releases with their delivery status per device."""
    request.state.principal = principal
    return render(request, "intercom/information.html", information_context(session))


@router.post("/intercom/information", response_model=None)
async def information_action(
    request: Request, session: SessionDep, principal: Operator
) -> Response:
    """Add/edit (field `id`), send now or delete a topic (field `op`)."""
    request.state.principal = principal
    actor = principal.actor

    def action(form: dict[str, Any]) -> str:
        op, ident = form.get("op", "save"), int(form.get("id") or 0)
        if op == "send":
            information.send_now(session=session, actor=actor, information_id=ident)
            return "Sending the topic now."
        if op == "delete":
            information.delete_information(session=session, actor=actor, information_id=ident)
            return "Topic deleted."
        start = str(form.get("start_time", ""))
        data = InformationCreate.model_validate(
            {
                "subject": form.get("subject", ""),
                "content": form.get("content", ""),
                "start_time": _local_time(start, str(form.get("tz_offset", "0"))),
                "device_ids": form["device_ids"],
            }
        )
        row = information.save_information(
            session=session, actor=actor, data=data, information_id=ident or None
        )
        return f"Topic {row.subject} saved; it is sent at its start time."

    return await _act(request, session, _information_page(), action)


def _local_time(text: str, offset_minutes: str) -> dt.datetime | str:
    """A datetime-local field plus the browser's offset (minutes west of UTC), as UTC."""
    try:
        local = dt.datetime.fromisoformat(text)
    except ValueError:
        return text  # the schema names the field
    if local.tzinfo is not None:
        return local
    offset = int(offset_minutes) if offset_minutes.lstrip("-").isdigit() else 0
    return (local + dt.timedelta(minutes=offset)).replace(tzinfo=dt.UTC)
