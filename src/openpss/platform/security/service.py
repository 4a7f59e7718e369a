"""Rules of the security domain: initialization, accounts, security questions, API tokens."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import logging
import random
import secrets
from collections.abc import Iterable, Sequence
from typing import NoReturn

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from openpss.platform.db import utcnow
from openpss.platform.errors import Conflict, Invalid, NotFound
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.security.auth import (
    LockPolicy,
    authenticate,
    claim_locked_audited,
    find_account,
    record_failure,
    reset_failures,
)
from openpss.platform.security.binding import set_binding
from openpss.platform.security.errors import LoginRefused
from openpss.platform.security.models import Account, ApiToken, LoginSession, Role, SecurityQuestion
from openpss.platform.security.passwords import check_password_rule, hash_password, verify_password
from openpss.platform.security.tokens import create_api_token

logger = logging.getLogger(__name__)

QUESTION_COUNT = 3
ASK_ADMIN = "ask an administrator to reset the password"
WRONG_ANSWERS = "at least one security answer is wrong"
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.@-")
SUGGESTED_QUESTIONS = [
    "What was the name of your first pet?",
    "In which city were you born?",
    "What was the name of your first school?",
    "What is your favourite book?",
    "What was the model of your first car?",
    "What is your mother's maiden name?",
]


def normalize_answer(answer: str) -> str:
    """Answers compare case-insensitively, ignoring surrounding blanks."""
    return answer.strip().casefold()


def is_initialized(*, session: Session) -> bool:
    """True once an administrator account exists."""
    query = select(func.count()).select_from(Account).where(Account.role == Role.administrator)
    return bool(session.scalar(query))


def check_username(username: str) -> str:
    """The stripped user name, or Invalid when it is empty, too long or has odd characters."""
    name = username.strip()
    if not 1 <= len(name) <= 32:
        raise Invalid("user name must be 1 to 32 characters long")
    if not set(name) <= USERNAME_CHARS:
        raise Invalid("user name may only use letters, digits and _ . @ -")
    return name


def check_new_password(password: str, confirm: str, username: str) -> None:
    """The password rule plus the confirmation (PasswordRuleError / Invalid)."""
    check_password_rule(password, username)
    if password != confirm:
        raise Invalid("the two passwords do not match")


def build_questions(pairs: Sequence[tuple[str, str]]) -> list[SecurityQuestion]:
    """Security questions with hashed answers; questions and answers must all be distinct."""
    if len(pairs) != QUESTION_COUNT:
        raise Invalid(f"set exactly {QUESTION_COUNT} security questions")
    questions = [q.strip() for q, _ in pairs]
    answers = [normalize_answer(a) for _, a in pairs]
    if any(not q for q in questions) or any(not a for a in answers):
        raise Invalid("every security question needs a question and an answer")
    if any(len(q) > 128 for q in questions):
        raise Invalid("a security question may have at most 128 characters")
    if len({q.casefold() for q in questions}) != len(questions):
        raise Invalid("choose different security questions")
    if len(set(answers)) != len(answers):
        raise Invalid("security questions need different answers")
    return [
        SecurityQuestion(position=i, question=q, answer_hash=hash_password(a))
        for i, (q, a) in enumerate(zip(questions, answers, strict=True))
    ]


def initialize(
    *,
    session: Session,
    username: str,
    password: str,
    confirm: str,
    questions: Sequence[tuple[str, str]],
    actor: Actor,
) -> Account:
    """First start: create the administrator with a password and security questions."""
    if is_initialized(session=session):
        raise Conflict("the platform is already initialized; log in instead")
    name = check_username(username)
    check_new_password(password, confirm, name)
    account = Account(
        username=name, password_hash=hash_password(password), role=Role.administrator, enabled=True
    )
    account.questions = build_questions(questions)
    session.add(account)
    session.flush()
    record_audit(session=session, actor=Actor(name, actor.source_ip), action="system.initialize",
                 target=name)  # fmt: skip
    return account


def list_accounts(*, session: Session) -> list[Account]:
    """All accounts by user name."""
    return list(session.scalars(select(Account).order_by(Account.username)))


def get_account(*, session: Session, account_id: int) -> Account:
    """One account, or NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"no account with id {account_id}")
    return account


def create_account(
    *, session: Session, username: str, password: str, role: Role, remark: str, actor: Actor
) -> Account:
    """An administrator adds an account."""
    name = check_username(username)
    if find_account(session=session, username=name) is not None:
        raise Conflict(f"an account named {name!r} already exists")
    check_password_rule(password, name)
    account = Account(
        username=name, password_hash=hash_password(password), role=role, remark=remark.strip()
    )
    session.add(account)
    session.flush()
    record_audit(session=session, actor=actor, action="account.create", target=name,
                 detail={"role": role.value})  # fmt: skip
    return account


def _enabled_admins(session: Session) -> int:
    query = select(func.count()).select_from(Account)
    query = query.where(Account.role == Role.administrator, Account.enabled.is_(True))
    return int(session.scalar(query) or 0)


def _guard_last_admin(session: Session, account: Account, what: str) -> None:
    if account.role == Role.administrator and account.enabled and _enabled_admins(session) <= 1:
        raise Conflict(f"cannot {what} the last administrator; make another administrator first")


def update_account(
    *,
    session: Session,
    account_id: int,
    actor: Actor,
    role: Role | None = None,
    enabled: bool | None = None,
    remark: str | None = None,
) -> Account:
    """Change role, enabled flag or remark; never leaves the platform without an administrator."""
    account = get_account(session=session, account_id=account_id)
    changes: dict[str, object] = {}
    if role is not None and role != account.role:
        _guard_last_admin(session, account, "demote")
        changes["role"] = role.value
        account.role = role
    if enabled is not None and enabled != account.enabled:
        if not enabled:
            _guard_last_admin(session, account, "disable")
        changes["enabled"] = enabled
        account.enabled = enabled
    if remark is not None and remark.strip() != account.remark:
        changes["remark"] = remark.strip()
        account.remark = remark.strip()
    if changes.get("enabled") is False:
        _end_sessions(session, account)
    record_audit(session=session, actor=actor, action="account.update", target=account.username,
                 detail=changes)  # fmt: skip
    return account


def _end_sessions(session: Session, account: Account, keep: int | None = None) -> None:
    for row in session.scalars(select(LoginSession).where(LoginSession.account_id == account.id)):
        if row.id != keep:
            session.delete(row)


def delete_account(*, session: Session, account_id: int, actor: Actor) -> None:
    """Delete an account (not your own, not the last administrator)."""
    account = get_account(session=session, account_id=account_id)
    if account.username == actor.name:
        raise Conflict("you cannot delete the account you are logged in with")
    _guard_last_admin(session, account, "delete")
    session.delete(account)
    record_audit(session=session, actor=actor, action="account.delete", target=account.username)


def set_password(*, session: Session, account: Account, password: str) -> None:
    """Store a new password (already checked) and end the account's other sessions."""
    account.password_hash = hash_password(password)
    account.password_changed_at = utcnow()
    account.failed_logins = 0
    account.locked_until = None


def reset_password(
    *, session: Session, account_id: int, password: str, confirm: str, actor: Actor
) -> Account:
    """An administrator sets a new password for an account; its console sessions end."""
    account = get_account(session=session, account_id=account_id)
    check_new_password(password, confirm, account.username)
    set_password(session=session, account=account, password=password)
    _end_sessions(session, account)
    record_audit(session=session, actor=actor, action="account.reset_password",
                 target=account.username)  # fmt: skip
    return account


def change_own_password(
    *,
    session: Session,
    account_id: int,
    current: str,
    password: str,
    confirm: str,
    actor: Actor,
    keep_session_id: int | None = None,
) -> None:
    """A user changes their own password after proving the current one; other sessions end."""
    account = get_account(session=session, account_id=account_id)
    if not verify_password(account.password_hash, current):
        raise Invalid("the current password is wrong")
    check_new_password(password, confirm, account.username)
    if verify_password(account.password_hash, password):
        raise Invalid("the new password must differ from the current one")
    set_password(session=session, account=account, password=password)
    _end_sessions(session, account, keep=keep_session_id)
    record_audit(session=session, actor=actor, action="account.change_password",
                 target=account.username)  # fmt: skip


def set_questions(
    *, session: Session, account_id: int, questions: Sequence[tuple[str, str]], actor: Actor
) -> None:
    """Replace an account's security questions."""
    account = get_account(session=session, account_id=account_id)
    account.questions = build_questions(questions)
    record_audit(session=session, actor=actor, action="account.set_questions",
                 target=account.username)  # fmt: skip


def decoy_questions(username: str, secret: str) -> list[str]:
    """Stable made-up questions for a name without any, so the page reveals nothing."""
    key = hmac.new(secret.encode(), username.strip().casefold().encode(), hashlib.sha256)
    return random.Random(key.digest()).sample(SUGGESTED_QUESTIONS, QUESTION_COUNT)


def questions_for(*, session: Session, username: str, secret: str) -> list[str]:
    """The questions for the forgot-password page.

    An unknown account, or one without questions, gets decoy questions (stable per name, keyed
    by the secret) and later the same "wrong answer" error, so the page never reveals whether
    an account exists or has questions.
    """
    account = find_account(session=session, username=username)
    if account is None or not account.questions:
        return decoy_questions(username, secret)
    return [q.question for q in account.questions]


def _refuse_unknown(session: Session, source_ip: str, policy: LockPolicy) -> NoReturn:
    """Forgot password for a name without questions: fail exactly like wrong answers."""
    lock = claim_locked_audited(session=session, account=None, source_ip=source_ip, policy=policy)
    verify_password(_dummy_answer_hash(), "x")
    record_failure(session=session, account=None, source_ip=source_ip, lock=lock,
                   reason="forgot password: no such account or no questions")  # fmt: skip
    raise lock or LoginRefused(WRONG_ANSWERS)


@functools.cache
def _dummy_answer_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def reset_with_answers(
    *,
    session: Session,
    username: str,
    answers: Sequence[str],
    password: str,
    confirm: str,
    source_ip: str,
    policy: LockPolicy,
) -> Account:
    """Forgot password: right answers to every question set a new password.

    Wrong answers count as failed logins (lockout). The caller commits even when this raises.
    """
    account = find_account(session=session, username=username)
    if account is None or not account.questions:
        _refuse_unknown(session, source_ip, policy)
    lock = claim_locked_audited(session=session, account=account, source_ip=source_ip,
                                policy=policy)  # fmt: skip
    given = [normalize_answer(a) for a in answers]
    right = len(given) == len(account.questions) and all(
        verify_password(q.answer_hash, a) for q, a in zip(account.questions, given, strict=True)
    )
    if not right:
        record_failure(session=session, account=account, source_ip=source_ip, lock=lock,
                       reason="wrong security answer")  # fmt: skip
        raise lock or LoginRefused(WRONG_ANSWERS)
    reset_failures(session=session, account=account, source_ip=source_ip)
    check_new_password(password, confirm, account.username)
    set_password(session=session, account=account, password=password)
    _end_sessions(session, account)
    record_audit(session=session, actor=Actor(account.username, source_ip),
                 action="account.forgot_password", target=account.username)  # fmt: skip
    return account


def issue_token(
    *, session: Session, account_id: int, name: str, days: int | None, actor: Actor
) -> tuple[str, ApiToken]:
    """Create an API bearer token; the secret is returned once."""
    account = get_account(session=session, account_id=account_id)
    label = name.strip()
    if not 1 <= len(label) <= 64:
        raise Invalid("token name must be 1 to 64 characters long")
    if days is not None and not 1 <= days <= 3650:
        raise Invalid("token lifetime must be 1 to 3650 days (or empty for no expiry)")
    expires = utcnow() + dt.timedelta(days=days) if days else None
    secret, row = create_api_token(session=session, account=account, name=label, expires_at=expires)
    record_audit(session=session, actor=actor, action="token.create", target=account.username,
                 detail={"name": label, "token_id": row.id})  # fmt: skip
    return secret, row


def list_tokens(*, session: Session, account_id: int | None = None) -> list[ApiToken]:
    """API tokens, all of them or one account's."""
    query = select(ApiToken).options(joinedload(ApiToken.account)).order_by(ApiToken.id)
    if account_id is not None:
        query = query.where(ApiToken.account_id == account_id)
    return list(session.scalars(query))


def revoke_token(
    *, session: Session, token_id: int, actor: Actor, owner_id: int | None = None
) -> None:
    """Delete an API token (owner_id limits it to one account's tokens)."""
    row = session.get(ApiToken, token_id)
    if row is None or (owner_id is not None and row.account_id != owner_id):
        raise NotFound(f"no API token with id {token_id}")
    session.delete(row)
    record_audit(session=session, actor=actor, action="token.revoke", target=row.account.username,
                 detail={"name": row.name, "token_id": token_id})  # fmt: skip


def bind_account(
    *, session: Session, account_id: int, networks: Iterable[str], actor: Actor
) -> Account:
    """Set the addresses/networks an account may log in and use tokens from (empty: any)."""
    account = get_account(session=session, account_id=account_id)
    set_binding(session=session, account=account, entries=networks, actor=actor)
    return account


def change_expired_password(
    *,
    session: Session,
    username: str,
    current: str,
    password: str,
    confirm: str,
    source_ip: str,
    policy: LockPolicy,
) -> Account:
    """Login with an expired password: prove the current one (lockout applies), set a new one.

    The caller commits even when this raises, so that failures count.
    """
    account = authenticate(session=session, username=username, password=current,
                           source_ip=source_ip, policy=policy)  # fmt: skip
    check_new_password(password, confirm, account.username)
    if verify_password(account.password_hash, password):
        raise Invalid("the new password must differ from the current one")
    set_password(session=session, account=account, password=password)
    _end_sessions(session, account)
    record_audit(session=session, actor=Actor(account.username, source_ip),
                 action="account.change_password", target=account.username,
                 detail={"reason": "password expired"})  # fmt: skip
    return account
