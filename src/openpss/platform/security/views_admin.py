"""Administrator console pages: accounts, API tokens, audit log, online users, locks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from openpss.platform.deps import Admin, Principal, SessionDep, Viewer
from openpss.platform.errors import Invalid
from openpss.platform.fields import DbId
from openpss.platform.listing import from_params
from openpss.platform.security import auth, service
from openpss.platform.security.audit import AuditQuery, search_audit
from openpss.platform.security.models import Role
from openpss.platform.web.forms import Notice, Page, answer
from openpss.platform.web.templating import render

router = APIRouter()

OptStr = Annotated[str, Form()]
PER_PAGE = 50


Listing = Callable[[Session, Principal], dict[str, Any]]


def _admin_page(template: str, listing: Listing) -> Callable[[Request, Session, Principal], Page]:
    """An administrator page as `page(status_code, **notice or error)` for one request."""

    def bind(request: Request, session: Session, principal: Principal) -> Page:
        def page(status_code: int = 200, **extra: Any) -> Response:
            ctx = {**listing(session, principal), **extra}
            return render(request, template, ctx, status_code=status_code)

        return page

    return bind


def _own_tokens(session: Session, principal: Principal) -> dict[str, Any]:
    owner = None if principal.has(Role.administrator) else principal.account_id
    return {"tokens": service.list_tokens(session=session, account_id=owner)}


_accounts_page = _admin_page(
    "security/accounts.html",
    lambda session, _: {"accounts": service.list_accounts(session=session), "roles": list(Role)},
)
_tokens_page = _admin_page("security/tokens.html", _own_tokens)
_online_page = _admin_page(
    "security/online.html", lambda session, _: {"sessions": auth.online_sessions(session=session)}
)
_locks_page = _admin_page(
    "security/locks.html",
    lambda session, _: {
        "accounts": auth.locked_accounts(session=session),
        "addresses": auth.locked_addresses(session=session),
    },
)


@router.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    """Accounts list with create, edit role, disable, reset password and delete."""
    return _accounts_page(request, session, principal)()


@router.post("/accounts", response_class=HTMLResponse)
def accounts_create(
    request: Request,
    principal: Admin,
    session: SessionDep,
    username: OptStr = "",
    password: OptStr = "",
    role: Annotated[Role, Form()] = Role.viewer,
    remark: OptStr = "",
) -> Response:
    """Add an account."""

    def change() -> Notice:
        service.create_account(
            session=session, username=username, password=password, role=role, remark=remark,
            actor=principal.actor,
        )  # fmt: skip
        return {"message": f"Account {username} created."}

    form = {"username": username, "role": role.value, "remark": remark}
    return answer(_accounts_page(request, session, principal), change, form=form)


@router.post("/accounts/{account_id}", response_class=HTMLResponse)
def accounts_update(
    account_id: DbId,
    request: Request,
    principal: Admin,
    session: SessionDep,
    role: Annotated[Role, Form()],
    enabled: Annotated[bool, Form()] = False,
    remark: OptStr = "",
) -> Response:
    """Change an account's role, enabled flag and remark."""

    def change() -> Notice:
        account = service.update_account(
            session=session, account_id=account_id, actor=principal.actor, role=role,
            enabled=enabled, remark=remark,
        )  # fmt: skip
        return {"message": f"Account {account.username} saved."}

    return answer(_accounts_page(request, session, principal), change, rollback=session)


@router.post("/accounts/{account_id}/binding", response_class=HTMLResponse)
def accounts_binding(
    account_id: DbId,
    request: Request,
    principal: Admin,
    session: SessionDep,
    networks: OptStr = "",
) -> Response:
    """Set the addresses/networks an account may be used from (empty: any)."""

    def change() -> Notice:
        account = service.bind_account(
            session=session, account_id=account_id, networks=[networks], actor=principal.actor
        )
        allowed = ", ".join(account.allowed_networks) or "any address"
        return {"message": f"Account {account.username} may be used from: {allowed}."}

    return answer(_accounts_page(request, session, principal), change)


@router.post("/accounts/{account_id}/password", response_class=HTMLResponse)
def accounts_password(
    account_id: DbId,
    request: Request,
    principal: Admin,
    session: SessionDep,
    password: OptStr = "",
    confirm: OptStr = "",
) -> Response:
    """Set a new password for an account."""

    def change() -> Notice:
        account = service.reset_password(
            session=session, account_id=account_id, password=password, confirm=confirm,
            actor=principal.actor,
        )  # fmt: skip
        return {"message": f"Password of {account.username} reset."}

    return answer(_accounts_page(request, session, principal), change)


@router.post("/accounts/{account_id}/delete", response_class=HTMLResponse)
def accounts_delete(
    account_id: DbId, request: Request, principal: Admin, session: SessionDep
) -> Response:
    """Delete an account."""

    def change() -> Notice:
        service.delete_account(session=session, account_id=account_id, actor=principal.actor)
        return {"message": "Account deleted."}

    return answer(_accounts_page(request, session, principal), change)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, principal: Viewer, session: SessionDep) -> Response:
    """API tokens: own (administrators see all), create and revoke."""
    return _tokens_page(request, session, principal)()


@router.post("/tokens", response_class=HTMLResponse)
def tokens_create(
    request: Request, principal: Viewer, session: SessionDep, name: OptStr = "", days: OptStr = ""
) -> Response:
    """Issue a token for oneself; the secret is shown once."""

    def change() -> Notice:
        if days.strip() and not days.strip().isdigit():
            raise service.Invalid("token lifetime must be a whole number of days")
        lifetime = int(days) if days.strip() else None
        secret, row = service.issue_token(
            session=session, account_id=principal.account_id, name=name, days=lifetime,
            actor=principal.actor,
        )  # fmt: skip
        return {"secret": secret, "secret_name": row.name}

    return answer(_tokens_page(request, session, principal), change)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
def tokens_revoke(
    token_id: DbId, request: Request, principal: Viewer, session: SessionDep
) -> Response:
    """Revoke a token."""
    owner = None if principal.has(Role.administrator) else principal.account_id

    def change() -> Notice:
        service.revoke_token(
            session=session, token_id=token_id, actor=principal.actor, owner_id=owner
        )
        return {"message": "Token revoked."}

    return answer(_tokens_page(request, session, principal), change)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    """The audit log with filters (actor, action, time range), paging and export links."""
    params = request.query_params
    filters = {name: params.get(name, "") for name in ("actor", "action", "since", "until")}
    ctx: dict[str, Any] = {"filters": filters, "query": urlencode(filters)}
    try:
        query = from_params(AuditQuery, params.multi_items(), limit=PER_PAGE)
        found = search_audit(session=session, query=query)
        ctx.update(entries=found.items, total=found.total, page=query.page_number)
        ctx["pages"] = found.pages
    except Invalid as exc:
        ctx.update(entries=[], total=0, page=1, pages=1, error=str(exc))
    return render(request, "security/audit.html", ctx)


@router.get("/online", response_class=HTMLResponse)
def online_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    """Online users: live console sessions with last-seen time and address."""
    return _online_page(request, session, principal)()


@router.post("/online/{session_id}/end", response_class=HTMLResponse)
def online_end(
    session_id: DbId, request: Request, principal: Admin, session: SessionDep
) -> Response:
    """End a console session."""

    def change() -> Notice | Response:
        auth.end_session(session=session, session_id=session_id, actor=principal.actor)
        if session_id == principal.login_session_id:
            return RedirectResponse("/login", status_code=303)
        return {"message": "Session ended."}

    return answer(_online_page(request, session, principal), change)


@router.get("/locks", response_class=HTMLResponse)
def locks_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    """Accounts and source addresses locked after failed logins."""
    return _locks_page(request, session, principal)()


@router.post("/locks/unlock", response_class=HTMLResponse)
def locks_unlock(
    request: Request,
    principal: Admin,
    session: SessionDep,
    username: OptStr = "",
    source_ip: OptStr = "",
) -> Response:
    """Unlock an account (username) or a source address (source_ip)."""

    def change() -> Notice:
        if username:
            auth.unlock_account(session=session, username=username, actor=principal.actor)
        else:
            auth.unlock_address(session=session, source_ip=source_ip, actor=principal.actor)
        return {"message": f"{username or source_ip} unlocked."}

    return answer(_locks_page(request, session, principal), change)
