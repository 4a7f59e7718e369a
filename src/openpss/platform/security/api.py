"""REST routes of the security domain under /api/v1."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from openpss import __version__
from openpss.platform.deps import Admin, CurrentUser, SessionDep, Viewer, client_ip
from openpss.platform.errors import Forbidden
from openpss.platform.fields import DbId
from openpss.platform.security import auth, service
from openpss.platform.security.audit import (
    Actor,
    AuditQuery,
    export_csv,
    export_xlsx,
    search_audit,
)
from openpss.platform.security.models import LoginSession
from openpss.platform.security.schemas import (
    AccountCreate,
    AccountRead,
    AccountUpdate,
    AddressLock,
    AuditPage,
    AuditRead,
    InitializeRequest,
    LocksRead,
    PasswordChange,
    PasswordSet,
    QuestionsSet,
    SessionRead,
    SystemStatus,
    TokenCreate,
    TokenCreated,
    TokenRead,
)
from openpss.platform.web.openapi import CSV, XLSX, file_answer

router = APIRouter(tags=["security"])


@router.get("/system/status")
def system_status(session: SessionDep) -> SystemStatus:
    """Whether the platform has been initialized (an administrator exists)."""
    return SystemStatus(initialized=service.is_initialized(session=session), version=__version__)


@router.post("/system/initialize", status_code=201)
def initialize(body: InitializeRequest, request: Request, session: SessionDep) -> AccountRead:
    """First start only: create the administrator with password and security questions."""
    account = service.initialize(
        session=session,
        username=body.username,
        password=body.password,
        confirm=body.confirm,
        questions=[(q.question, q.answer) for q in body.questions],
        actor=Actor("system", client_ip(request)),
    )
    return AccountRead.model_validate(account)


@router.get("/me")
def me(principal: CurrentUser, session: SessionDep) -> AccountRead:
    """The caller's own account."""
    account = service.get_account(session=session, account_id=principal.account_id)
    return AccountRead.model_validate(account)


@router.post("/me/password", status_code=204)
def change_password(body: PasswordChange, principal: Viewer, session: SessionDep) -> None:
    """Change one's own password (the current one is required)."""
    service.change_own_password(
        session=session,
        account_id=principal.account_id,
        current=body.current,
        password=body.password,
        confirm=body.confirm,
        actor=principal.actor,
        keep_session_id=principal.login_session_id,
    )


@router.put("/me/questions", status_code=204)
def set_questions(body: QuestionsSet, principal: Viewer, session: SessionDep) -> None:
    """Replace one's security questions (answers must differ)."""
    service.set_questions(
        session=session,
        account_id=principal.account_id,
        questions=[(q.question, q.answer) for q in body.questions],
        actor=principal.actor,
    )


@router.get("/accounts")
def list_accounts(principal: Admin, session: SessionDep) -> list[AccountRead]:
    """Every account."""
    return [AccountRead.model_validate(a) for a in service.list_accounts(session=session)]


@router.post("/accounts", status_code=201)
def create_account(body: AccountCreate, principal: Admin, session: SessionDep) -> AccountRead:
    """Add an account with a role."""
    account = service.create_account(
        session=session,
        username=body.username,
        password=body.password,
        role=body.role,
        remark=body.remark,
        actor=principal.actor,
    )
    return AccountRead.model_validate(account)


@router.get("/accounts/{account_id}")
def get_account(account_id: DbId, principal: Admin, session: SessionDep) -> AccountRead:
    """One account."""
    return AccountRead.model_validate(service.get_account(session=session, account_id=account_id))


@router.patch("/accounts/{account_id}")
def update_account(
    account_id: DbId, body: AccountUpdate, principal: Admin, session: SessionDep
) -> AccountRead:
    """Change role, enabled flag, remark or allowed addresses (the last administrator stays one)."""
    if body.allowed_networks is not None:
        service.bind_account(session=session, account_id=account_id,
                             networks=body.allowed_networks, actor=principal.actor)  # fmt: skip
    account = service.update_account(
        session=session,
        account_id=account_id,
        actor=principal.actor,
        role=body.role,
        enabled=body.enabled,
        remark=body.remark,
    )
    return AccountRead.model_validate(account)


@router.post("/accounts/{account_id}/password", status_code=204)
def reset_password(
    account_id: DbId, body: PasswordSet, principal: Admin, session: SessionDep
) -> None:
    """Set a new password for an account; its console sessions end."""
    service.reset_password(
        session=session,
        account_id=account_id,
        password=body.password,
        confirm=body.confirm,
        actor=principal.actor,
    )


@router.delete("/accounts/{account_id}", status_code=204)
def delete_account(account_id: DbId, principal: Admin, session: SessionDep) -> None:
    """Delete an account (not yourself, not the last administrator)."""
    service.delete_account(session=session, account_id=account_id, actor=principal.actor)


def _token_read(row: object) -> TokenRead:
    return TokenRead.model_validate(row)


@router.get("/tokens")
def list_tokens(principal: Viewer, session: SessionDep) -> list[TokenRead]:
    """API tokens: an administrator sees all, others their own."""
    owner = None if principal.role.value == "administrator" else principal.account_id
    return [_token_read(t) for t in service.list_tokens(session=session, account_id=owner)]


@router.post("/tokens", status_code=201)
def create_token(body: TokenCreate, principal: Viewer, session: SessionDep) -> TokenCreated:
    """Issue a bearer token; its secret is in this response only."""
    account_id = body.account_id or principal.account_id
    if account_id != principal.account_id and principal.role.value != "administrator":
        raise Forbidden("only an administrator may issue tokens for another account")
    secret, row = service.issue_token(
        session=session, account_id=account_id, name=body.name, days=body.days,
        actor=principal.actor,
    )  # fmt: skip
    return TokenCreated(token=secret, **_token_read(row).model_dump())


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: DbId, principal: Viewer, session: SessionDep) -> None:
    """Revoke a token (your own; an administrator any)."""
    owner = None if principal.role.value == "administrator" else principal.account_id
    service.revoke_token(session=session, token_id=token_id, actor=principal.actor, owner_id=owner)


@router.get("/audit")
def audit_log(
    principal: Admin, session: SessionDep, query: Annotated[AuditQuery, Query()]
) -> AuditPage:
    """Search the audit log, newest first (`page` and `per_page`, or `after` a cursor)."""
    page = search_audit(session=session, query=query)
    items = [AuditRead.model_validate(r) for r in page.items]
    return AuditPage(
        total=page.total, page=query.page_number, per_page=query.limit, items=items,
        next_cursor=page.next_cursor,
    )  # fmt: skip


@router.get("/audit/export", response_class=Response, responses=file_answer(XLSX, CSV))
def audit_export(
    principal: Admin,
    session: SessionDep,
    query: Annotated[AuditQuery, Query()],
    format: Literal["csv", "xlsx"] = "xlsx",
) -> Response:
    """Download the matching audit entries as xlsx or CSV."""
    return export_response(session=session, flt=query, fmt=format)


def export_response(*, session: SessionDep, flt: AuditQuery, fmt: str) -> Response:
    """The export file as a download response."""
    headers = {"Content-Disposition": f'attachment; filename="audit-log.{fmt}"'}
    if fmt == "csv":
        body = export_csv(session=session, flt=flt)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    return Response(export_xlsx(session=session, flt=flt), media_type=XLSX, headers=headers)


def session_read(row: LoginSession) -> SessionRead:
    """An online-user row."""
    return SessionRead(
        id=row.id, username=row.account.username, role=row.account.role, source_ip=row.source_ip,
        user_agent=row.user_agent, created_at=row.created_at, last_seen=row.last_seen,
        expires_at=row.expires_at,
    )  # fmt: skip


@router.get("/sessions")
def online_users(principal: Admin, session: SessionDep) -> list[SessionRead]:
    """Live console sessions (online users)."""
    return [session_read(r) for r in auth.online_sessions(session=session)]


@router.delete("/sessions/{session_id}", status_code=204)
def end_session(session_id: DbId, principal: Admin, session: SessionDep) -> None:
    """End someone's console session."""
    auth.end_session(session=session, session_id=session_id, actor=principal.actor)


@router.get("/locks")
def locks(principal: Admin, session: SessionDep) -> LocksRead:
    """Accounts and source addresses locked after failed logins."""
    accounts = [AccountRead.model_validate(a) for a in auth.locked_accounts(session=session)]
    addresses = [AddressLock.model_validate(r) for r in auth.locked_addresses(session=session)]
    return LocksRead(accounts=accounts, addresses=addresses)


@router.delete("/locks/accounts/{username}", status_code=204)
def unlock_account(username: str, principal: Admin, session: SessionDep) -> None:
    """Unlock an account."""
    auth.unlock_account(session=session, username=username, actor=principal.actor)


@router.delete("/locks/addresses/{source_ip}", status_code=204)
def unlock_address(source_ip: str, principal: Admin, session: SessionDep) -> None:
    """Unlock a source address."""
    auth.unlock_address(session=session, source_ip=source_ip, actor=principal.actor)
