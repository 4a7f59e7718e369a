"""Console pages of the security domain: initialization, login, forgot password, own account.

The administrator pages (accounts, tokens, audit log, online users, locks) are in views_admin.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from openpss.platform.deps import (
    SESSION_COOKIE,
    CurrentUser,
    SessionDep,
    SettingsDep,
    Viewer,
    client_ip,
)
from openpss.platform.errors import DomainError
from openpss.platform.fields import DbId
from openpss.platform.security import auth, service
from openpss.platform.security.audit import Actor
from openpss.platform.security.errors import PasswordExpired
from openpss.platform.security.passwords import PasswordRuleError, check_password_rule, strength
from openpss.platform.security.views_admin import router as admin_router
from openpss.platform.settings import Settings
from openpss.platform.web.errors import http_status
from openpss.platform.web.forms import Notice, Page, answer
from openpss.platform.web.templating import render

logger = logging.getLogger(__name__)

router = APIRouter()
router.include_router(admin_router)

OptStr = Annotated[str, Form()]


def _answers(a0: OptStr = "", a1: OptStr = "", a2: OptStr = "") -> list[str]:
    """The three answers of a security-question form (fields a0, a1, a2)."""
    return [a0, a1, a2]


Answers = Annotated[list[str], Depends(_answers)]


def _question_pairs(
    answers: Answers, q0: OptStr = "", q1: OptStr = "", q2: OptStr = ""
) -> list[tuple[str, str]]:
    """The three (question, answer) pairs of a security-question form (q0..q2, a0..a2)."""
    return list(zip([q0, q1, q2], answers, strict=True))


QuestionPairs = Annotated[list[tuple[str, str]], Depends(_question_pairs)]


def lock_policy(settings: Settings) -> auth.LockPolicy:
    """The lockout policy from the settings."""
    return auth.LockPolicy(settings.lockout_attempts, settings.lockout_minutes)


def safe_next(target: str) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def start_session(
    request: Request, session: SessionDep, settings: Settings, username: str, password: str,
    remember: bool,
) -> tuple[str, dt.timedelta]:  # fmt: skip
    """Log in and return the cookie value and its lifetime."""
    lifetime = (
        dt.timedelta(days=settings.remember_me_days)
        if remember
        else dt.timedelta(hours=settings.session_hours)
    )
    token, _ = auth.login(
        session=session, username=username, password=password, source_ip=client_ip(request),
        policy=lock_policy(settings), lifetime=lifetime, remember=remember,
        user_agent=request.headers.get("user-agent", ""),
        max_age_days=settings.password_max_age_days,
    )  # fmt: skip
    return token, lifetime


def with_cookie(
    response: Response, request: Request, token: str, lifetime: dt.timedelta, remember: bool
) -> Response:
    """Set the session cookie: HttpOnly, SameSite=Lax, persistent only with 'remember me'."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()) if remember else None,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/init", response_class=HTMLResponse)
def init_page(request: Request, session: SessionDep) -> Response:
    """First-start page: administrator password and security questions."""
    if service.is_initialized(session=session):
        return RedirectResponse("/login", status_code=303)
    return render(request, "security/init.html", _init_context())


def _init_context(**extra: object) -> dict[str, object]:
    ctx: dict[str, object] = {
        "username": "admin",
        "suggested": service.SUGGESTED_QUESTIONS,
        "questions": service.SUGGESTED_QUESTIONS[: service.QUESTION_COUNT],
        "auto_login": True,
    }
    ctx.update(extra)
    return ctx


@router.post("/init", response_class=HTMLResponse)
def init_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    pairs: QuestionPairs,
    password: OptStr = "",
    confirm: OptStr = "",
    username: OptStr = "admin",
    auto_login: Annotated[bool, Form()] = False,
) -> Response:
    """Create the administrator; then log in (auto login) or show the login page."""

    def page(status: int, **extra: object) -> Response:
        questions = [question for question, _ in pairs]
        ctx = _init_context(username=username, questions=questions, auto_login=auto_login)
        return render(request, "security/init.html", {**ctx, **extra}, status_code=status)

    def change() -> Response:
        service.initialize(
            session=session, username=username, password=password, confirm=confirm,
            questions=pairs, actor=Actor("system", client_ip(request)),
        )  # fmt: skip
        if not auto_login:
            return RedirectResponse("/login?initialized=1", status_code=303)
        token, lifetime = start_session(request, session, settings, username, password, False)
        return with_cookie(RedirectResponse("/", status_code=303), request, token, lifetime, False)

    return answer(page, change, status=422)


@router.post("/password-strength", response_class=HTMLResponse)
def password_strength(request: Request, password: OptStr = "", username: OptStr = "") -> Response:
    """HTMX fragment: the strength meter and what the rule still misses."""
    try:
        check_password_rule(password, username.strip())
        problem = ""
    except PasswordRuleError as exc:
        problem = str(exc)
    ctx = {"strength": strength(password) if password else "", "problem": problem}
    return render(request, "security/_strength.html", ctx)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, session: SessionDep, next: str = "/", initialized: str = "", reset: str = ""
) -> Response:
    """The login form; before initialization it sends to /init."""
    if not service.is_initialized(session=session):
        return RedirectResponse("/init", status_code=303)
    notice = ""
    if initialized:
        notice = "The platform is initialized; log in with the administrator account."
    if reset:
        notice = "Your password has been reset; log in with the new password."
    return render(request, "security/login.html", {"next": safe_next(next), "notice": notice})


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: OptStr = "",
    password: OptStr = "",
    remember: Annotated[bool, Form()] = False,
    next: OptStr = "/",
) -> Response:
    """Check the credentials (lockout applies) and set the session cookie."""
    try:
        token, lifetime = start_session(request, session, settings, username, password, remember)
    except PasswordExpired as exc:
        ctx = {"error": str(exc), "username": username, "next": safe_next(next),
               "remember": remember}  # fmt: skip
        return render(request, "security/expired.html", ctx, status_code=http_status(exc))
    except DomainError as exc:
        ctx = {"error": str(exc), "username": username, "next": safe_next(next)}
        return render(request, "security/login.html", ctx, status_code=http_status(exc))
    response = RedirectResponse(safe_next(next), status_code=303)
    return with_cookie(response, request, token, lifetime, remember)


@router.post("/login/expired", response_class=HTMLResponse)
def expired_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: OptStr = "",
    current: OptStr = "",
    password: OptStr = "",
    confirm: OptStr = "",
    remember: Annotated[bool, Form()] = False,
    next: OptStr = "/",
) -> Response:
    """Expired password: prove the current one, set a new one, and log in with it."""

    def page(status: int, **extra: object) -> Response:
        ctx = {"username": username, "next": safe_next(next), "remember": remember, **extra}
        return render(request, "security/expired.html", ctx, status_code=status)

    def change() -> Response:
        service.change_expired_password(
            session=session, username=username, current=current, password=password,
            confirm=confirm, source_ip=client_ip(request), policy=lock_policy(settings),
        )  # fmt: skip
        token, lifetime = start_session(request, session, settings, username, password, remember)
        response = RedirectResponse(safe_next(next), status_code=303)
        return with_cookie(response, request, token, lifetime, remember)

    return answer(page, change)


@router.post("/logout")
def logout(principal: CurrentUser, session: SessionDep) -> Response:
    """End the console session and forget the cookie."""
    if principal.login_session_id is not None:
        auth.logout(
            session=session, login_session_id=principal.login_session_id, actor=principal.actor
        )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/forgot-password", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    """Step 1 of the password reset: which account."""
    return render(request, "security/forgot.html", {"step": "username", "username": ""})


@router.post("/forgot-password", response_class=HTMLResponse)
def forgot_questions(
    request: Request, session: SessionDep, settings: SettingsDep, username: OptStr = ""
) -> Response:
    """Step 2: the security questions (decoys for unknown names: nothing is revealed)."""
    if not username.strip():
        ctx: dict[str, object] = {"step": "username", "username": "", "error": "enter a user name"}
        return render(request, "security/forgot.html", ctx, status_code=422)
    questions = service.questions_for(
        session=session, username=username, secret=settings.secret_key
    )
    ctx = {"step": "answers", "username": username.strip(), "questions": questions}
    return render(request, "security/forgot.html", ctx)


@router.post("/forgot-password/reset", response_class=HTMLResponse)
def forgot_reset(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    answers: Answers,
    username: OptStr = "",
    password: OptStr = "",
    confirm: OptStr = "",
) -> Response:
    """Step 3: right answers set the new password."""

    def page(status: int, **extra: object) -> Response:
        questions = service.questions_for(
            session=session, username=username, secret=settings.secret_key
        )
        ctx = {"step": "answers", "username": username, "questions": questions, **extra}
        return render(request, "security/forgot.html", ctx, status_code=status)

    def change() -> Response:
        service.reset_with_answers(
            session=session, username=username, answers=answers, password=password,
            confirm=confirm, source_ip=client_ip(request), policy=lock_policy(settings),
        )  # fmt: skip
        return RedirectResponse("/login?reset=1", status_code=303)

    return answer(page, change)


@router.get("/account", response_class=HTMLResponse)
def my_account(request: Request, principal: Viewer, session: SessionDep) -> Response:
    """Own account: change password, security questions."""
    return render(request, "security/account.html", _account_context(session, principal.account_id))


def _account_page(request: Request, session: Session, account_id: DbId) -> Page:
    """Own account page shown again after a form: page(status, **notice or error)."""

    def page(status: int, **extra: object) -> Response:
        ctx = _account_context(session, account_id, **extra)
        return render(request, "security/account.html", ctx, status_code=status)

    return page


def _account_context(session: SessionDep, account_id: DbId, **extra: object) -> dict[str, object]:
    account = service.get_account(session=session, account_id=account_id)
    current = [q.question for q in account.questions] or service.SUGGESTED_QUESTIONS[:3]
    ctx: dict[str, object] = {
        "account": account,
        "questions": current,
        "suggested": service.SUGGESTED_QUESTIONS,
    }
    ctx.update(extra)
    return ctx


@router.post("/account/password", response_class=HTMLResponse)
def my_password(
    request: Request,
    principal: Viewer,
    session: SessionDep,
    current: OptStr = "",
    password: OptStr = "",
    confirm: OptStr = "",
) -> Response:
    """Change one's own password."""

    def change() -> Notice:
        service.change_own_password(
            session=session, account_id=principal.account_id, current=current,
            password=password, confirm=confirm, actor=principal.actor,
            keep_session_id=principal.login_session_id,
        )  # fmt: skip
        return {"password_ok": "Password changed."}

    page = _account_page(request, session, principal.account_id)
    return answer(page, change, error_key="password_error", status=422)


@router.post("/account/questions", response_class=HTMLResponse)
def my_questions(
    request: Request,
    principal: Viewer,
    session: SessionDep,
    pairs: QuestionPairs,
) -> Response:
    """Replace one's security questions."""

    def change() -> Notice:
        service.set_questions(
            session=session, account_id=principal.account_id,
            questions=pairs, actor=principal.actor,
        )  # fmt: skip
        return {"questions_ok": "Security questions saved."}

    page = _account_page(request, session, principal.account_id)
    return answer(page, change, error_key="questions_error", status=422)
