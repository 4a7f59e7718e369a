"""FastAPI dependencies shared by every domain: database session, principal, role checks.

API clients authenticate with `Authorization: Bearer <token>`; the console with the session
cookie plus a CSRF token (header `X-CSRF-Token` or form field `csrf_token`) on unsafe methods.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from openpss.platform.errors import Forbidden, Unauthenticated
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.security.binding import check_binding
from openpss.platform.security.errors import NotBound
from openpss.platform.security.models import Account, Role
from openpss.platform.security.tokens import find_api_token, find_login_session
from openpss.platform.settings import Settings

SESSION_COOKIE = "openpss_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_db(request: Request) -> Iterator[Session]:
    """A database session for one request, committed when the route returns normally."""
    session: Session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


# scope="function": commit (or roll back) right after the route returns, BEFORE the response is
# sent. With the default request scope FastAPI commits after sending, so a browser following a
# POST-redirect-GET could read the database before the POST's commit (e.g. a fresh login session).
SessionDep = Annotated[Session, Depends(get_db, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def client_ip(request: Request) -> str:
    """The peer address of the request."""
    return request.client.host if request.client else ""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    account_id: int
    username: str
    role: Role
    via: str  # "session" or "token"
    source_ip: str
    csrf_token: str = ""
    login_session_id: int | None = None

    @property
    def actor(self) -> Actor:
        """The audit-log actor for changes made by this principal."""
        return Actor(self.username, self.source_ip)

    def has(self, role: Role) -> bool:
        """True when this principal's role is at least `role`."""
        return self.role.rank >= role.rank


class NotAuthenticated(Unauthenticated):
    """401; the console turns it into a redirect to the login page."""

    def __init__(self) -> None:
        super().__init__("not authenticated: log in or send 'Authorization: Bearer <token>'")


# Declares the bearer scheme in the OpenAPI schema; a missing header is not an error here
# because the console authenticates by its session cookie instead.
_bearer = HTTPBearer(auto_error=False, description="An API token made under My account")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


async def _csrf_from(request: Request) -> str:
    header = request.headers.get("x-csrf-token")
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else ""
    return ""


def _check_bound(session: Session, account: Account, ip: str, via: str) -> None:
    """403 (audited and committed at once) when the account's binding excludes `ip`."""
    try:
        check_binding(account, ip)
    except NotBound:
        record_audit(
            session=session, actor=Actor(account.username, ip), action="access.refused",
            detail={"reason": "source address not allowed by the account binding", "via": via},
        )  # fmt: skip
        session.commit()
        raise


async def get_principal(request: Request, session: SessionDep, bearer: BearerDep) -> Principal:
    """Authenticate by bearer token or console session cookie (with CSRF on unsafe methods);
    the principal is also left on `request.state` for the console's pages."""
    principal = await _authenticate(request, session, bearer)
    request.state.principal = principal
    return principal


async def _authenticate(
    request: Request, session: Session, bearer: HTTPAuthorizationCredentials | None
) -> Principal:
    ip = client_ip(request)
    if bearer is not None:
        token_row = find_api_token(session=session, token=bearer.credentials.strip())
        if token_row is None:
            raise NotAuthenticated()
        account = token_row.account
        _check_bound(session, account, ip, "API token")
        return Principal(account.id, account.username, account.role, "token", ip)
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated()
    row = find_login_session(session=session, token=cookie)
    if row is None:
        raise NotAuthenticated()
    if request.method not in SAFE_METHODS:
        sent = await _csrf_from(request)
        if not hmac.compare_digest(sent, row.csrf_token):
            raise Forbidden("missing or wrong CSRF token: reload the page and try again")
    account = row.account
    _check_bound(session, account, ip, "console session")
    return Principal(
        account.id, account.username, account.role, "session", ip, row.csrf_token, row.id
    )


def require_role(role: Role) -> Callable[..., object]:
    """A dependency that lets through principals holding at least `role`."""

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has(role):
            raise Forbidden(
                f"this needs the {role.value} role; you are {principal.role.value}",
                needed_role=role.value,
            )
        return principal

    return check


CurrentUser = Annotated[Principal, Depends(get_principal)]
Viewer = Annotated[Principal, Depends(require_role(Role.viewer))]
Operator = Annotated[Principal, Depends(require_role(Role.operator))]
Admin = Annotated[Principal, Depends(require_role(Role.administrator))]
