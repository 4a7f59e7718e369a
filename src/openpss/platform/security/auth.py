"""Login, lockout of accounts and source addresses, console sessions and logout."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, contains_eager

from openpss.platform.db import UTCDateTime, utcnow
from openpss.platform.errors import Locked, NotFound
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.security.binding import address_allowed, check_binding
from openpss.platform.security.errors import LoginRefused, PasswordExpired
from openpss.platform.security.models import Account, IpLock, LoginSession
from openpss.platform.security.passwords import hash_password, verify_password
from openpss.platform.security.tokens import open_login_session

logger = logging.getLogger(__name__)

WRONG_CREDENTIALS = "wrong user name or password"


@dataclass(frozen=True)
class LockPolicy:
    """How many failures lock, and for how long (settings.lockout_attempts / lockout_minutes)."""

    attempts: int = 5
    minutes: int = 30

    @property
    def duration(self) -> dt.timedelta:
        return dt.timedelta(minutes=self.minutes)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def find_account(*, session: Session, username: str) -> Account | None:
    """The account with this user name (compared case-insensitively), or None."""
    name = username.strip().lower()
    return session.scalar(select(Account).where(func.lower(Account.username) == name))


def _insert_ip_row(session: Session, source_ip: str) -> None:
    """Create the address's row unless it exists: INSERT ... ON CONFLICT DO NOTHING.

    Two first failures from a new address may run at once; a plain INSERT would make the
    slower one fail on the unique constraint.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(IpLock).values(source_ip=source_ip, failed_logins=0)
    session.execute(stmt.on_conflict_do_nothing(index_elements=["source_ip"]))


def _claim_row(
    session: Session,
    model: type[Account] | type[IpLock],
    where: Any,
    now: dt.datetime,
    policy: LockPolicy,
) -> int | None:
    """One conditional UPDATE: count an attempt unless the row is locked; the new count.

    The WHERE clause and the increment run as one statement under the row's write lock (a
    row lock on PostgreSQL, the database write lock on SQLite), so parallel attempts are
    counted one after the other and none passes once the limit is reached. An elapsed lock
    starts a new count. Reaching the limit locks at once; a right password then unlocks.
    """
    count = case((model.locked_until.is_not(None), 1), else_=model.failed_logins + 1)
    stmt = (
        update(model)
        .where(where, or_(model.locked_until.is_(None), model.locked_until <= now))
        .values(
            failed_logins=count,
            locked_until=case(
                (count >= policy.attempts, literal(now + policy.duration, UTCDateTime())),
                else_=None,
            ),
        )
        .returning(model.failed_logins)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(stmt)


def _lock_of(session: Session, model: type[Account] | type[IpLock], where: Any) -> Any:
    return session.scalar(select(model.locked_until).where(where))


def claim_attempt(
    *, session: Session, account: Account | None, source_ip: str, policy: LockPolicy
) -> Locked | None:
    """Count one attempt against the address and the account BEFORE any secret is checked.

    Commits at once so that parallel attempts see the count. Raises Locked (nothing counted
    for the locked row) when the address or the account is locked now; returns the lock this
    attempt set when it reached the limit (it stands unless the secret proves right).
    """
    now = utcnow()
    _insert_ip_row(session, source_ip)
    where_ip = IpLock.source_ip == source_ip
    what_ip = f"source address {source_ip}"
    ip_count = _claim_row(session, IpLock, where_ip, now, policy)
    if ip_count is None:
        session.commit()
        raise Locked(what_ip, _lock_of(session, IpLock, where_ip) or now + policy.duration)
    lock = Locked(what_ip, now + policy.duration) if ip_count >= policy.attempts else None
    if account is not None:
        where_account = Account.id == account.id
        what_account = f"account {account.username}"
        account_count = _claim_row(session, Account, where_account, now, policy)
        if account_count is None:
            until = _lock_of(session, Account, where_account)
            session.commit()
            raise Locked(what_account, until or now + policy.duration)
        if account_count >= policy.attempts:
            lock = Locked(what_account, now + policy.duration)
    session.commit()
    return lock


def _expire(row: Account | IpLock, now: dt.datetime) -> None:
    """Forget an elapsed lock together with the failures that caused it."""
    if row.locked_until is not None and row.locked_until <= now:
        row.locked_until = None
        row.failed_logins = 0


def check_not_locked(*, session: Session, account: Account | None, source_ip: str) -> None:
    """Raise Locked when the source address or the account is locked now."""
    now = utcnow()
    ip_row = session.scalar(select(IpLock).where(IpLock.source_ip == source_ip))
    if ip_row is not None:
        _expire(ip_row, now)
        if ip_row.locked_until is not None:
            raise Locked(f"source address {source_ip}", ip_row.locked_until)
    if account is not None:
        _expire(account, now)
        if account.locked_until is not None:
            raise Locked(f"account {account.username}", account.locked_until)


def record_failure(
    *, session: Session, account: Account | None, source_ip: str, lock: Locked | None, reason: str
) -> Locked | None:
    """Audit a failed attempt already counted by ``claim_attempt``; returns its lock."""
    name = account.username if account is not None else "-"
    detail = {"reason": reason, "locked": lock is not None}
    record_audit(
        session=session, actor=Actor(name, source_ip), action="login.failure", detail=detail
    )
    if lock is not None:
        logger.warning("locked after failed logins: %s", lock.what)
    return lock


def register_failure(
    *, session: Session, account: Account | None, source_ip: str, policy: LockPolicy, reason: str
) -> Locked | None:
    """Count and audit a failed attempt (no secret checked); returns the lock it caused."""
    lock = claim_attempt(session=session, account=account, source_ip=source_ip, policy=policy)
    return record_failure(
        session=session, account=account, source_ip=source_ip, lock=lock, reason=reason
    )


def reset_failures(*, session: Session, account: Account, source_ip: str) -> None:
    """A successful login clears the failure counters of the account and the address."""
    # Statements, not attribute sets: the counts in the database moved under the ORM's feet
    # (claim_attempt), so an attribute set to the value the ORM last saw would be skipped.
    cleared = {"failed_logins": 0, "locked_until": None}
    session.execute(update(Account).where(Account.id == account.id).values(**cleared))
    session.execute(update(IpLock).where(IpLock.source_ip == source_ip).values(**cleared))


def authenticate(
    *, session: Session, username: str, password: str, source_ip: str, policy: LockPolicy
) -> Account:
    """Check the credentials; raises Locked or LoginRefused after recording the failure.

    The attempt is counted (and committed) before the password is verified, so parallel
    attempts cannot exceed the limit. The caller must commit even when this raises, so that
    the audit entry is kept.
    """
    account = find_account(session=session, username=username)
    if account is not None and not address_allowed(account.allowed_networks, source_ip):
        record_audit(
            session=session, actor=Actor(account.username, source_ip), action="login.failure",
            detail={"reason": "source address not allowed by the account binding"},
        )  # fmt: skip
        check_binding(account, source_ip)
    lock = claim_locked_audited(
        session=session, account=account, source_ip=source_ip, policy=policy
    )
    # Unknown names cost one argon2 verification too, so timing does not reveal which names exist.
    stored = account.password_hash if account is not None else _dummy_hash()
    if not verify_password(stored, password) or account is None:
        record_failure(
            session=session, account=account, source_ip=source_ip, lock=lock,
            reason="unknown account" if account is None else "wrong password",
        )  # fmt: skip
        raise lock or LoginRefused(WRONG_CREDENTIALS)
    reset_failures(session=session, account=account, source_ip=source_ip)
    if not account.enabled:
        record_audit(
            session=session, actor=Actor(account.username, source_ip), action="login.failure",
            detail={"reason": "account disabled"},
        )  # fmt: skip
        raise LoginRefused(f"account {account.username} is disabled; ask an administrator")
    return account


def claim_locked_audited(
    *, session: Session, account: Account | None, source_ip: str, policy: LockPolicy
) -> Locked | None:
    """``claim_attempt``, auditing a refusal because the address or account is locked."""
    try:
        return claim_attempt(session=session, account=account, source_ip=source_ip, policy=policy)
    except Locked as exc:
        name = account.username if account is not None else "-"
        record_audit(
            session=session, actor=Actor(name, source_ip), action="login.failure",
            detail={"reason": f"{exc.what} locked"},
        )  # fmt: skip
        raise


def password_expired(account: Account, max_age_days: int, now: dt.datetime | None = None) -> bool:
    """True when a maximum password age is set (days > 0) and the password is that old."""
    if max_age_days <= 0:
        return False
    return (now or utcnow()) - account.password_changed_at >= dt.timedelta(days=max_age_days)


def check_password_age(*, session: Session, account: Account, source_ip: str, days: int) -> None:
    """Raise PasswordExpired (audited) when the account's password is older than `days`."""
    if not password_expired(account, days):
        return
    record_audit(
        session=session, actor=Actor(account.username, source_ip), action="login.failure",
        detail={"reason": "password expired"},
    )  # fmt: skip
    raise PasswordExpired(
        f"the password of {account.username} is older than {days} days (the maximum password "
        "age); choose a new password to log in"
    )


def login(
    *,
    session: Session,
    username: str,
    password: str,
    source_ip: str,
    policy: LockPolicy,
    lifetime: dt.timedelta,
    remember: bool = False,
    user_agent: str = "",
    max_age_days: int = 0,
) -> tuple[str, LoginSession]:
    """Authenticate and open a console session; returns the cookie value and the session row.

    Raises PasswordExpired (after clearing the failure counters: the password was right) when
    the password is older than `max_age_days`.
    """
    account = authenticate(
        session=session, username=username, password=password, source_ip=source_ip, policy=policy
    )
    check_password_age(session=session, account=account, source_ip=source_ip, days=max_age_days)
    purge_expired_sessions(session=session)
    account.last_login_at = utcnow()
    account.last_login_ip = source_ip
    token, row = open_login_session(
        session=session, account=account, lifetime=lifetime, remember=remember,
        source_ip=source_ip, user_agent=user_agent,
    )  # fmt: skip
    record_audit(
        session=session, actor=Actor(account.username, source_ip), action="login.success",
        detail={"remember": remember},
    )  # fmt: skip
    return token, row


def purge_expired_sessions(*, session: Session) -> int:
    """Delete console sessions whose lifetime is over; returns how many."""
    result = session.execute(delete(LoginSession).where(LoginSession.expires_at <= utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def logout(*, session: Session, login_session_id: int, actor: Actor) -> None:
    """End the caller's console session."""
    row = session.get(LoginSession, login_session_id)
    if row is not None:
        session.delete(row)
    record_audit(session=session, actor=actor, action="logout")


def online_sessions(*, session: Session) -> list[LoginSession]:
    """Live console sessions, most recently seen first."""
    query = (
        select(LoginSession)
        .join(LoginSession.account)
        .options(contains_eager(LoginSession.account))
        .where(LoginSession.expires_at > utcnow())
        .order_by(LoginSession.last_seen.desc())
    )
    return list(session.scalars(query))


def end_session(*, session: Session, session_id: int, actor: Actor) -> None:
    """An administrator ends someone's console session (forces a new login)."""
    row = session.get(LoginSession, session_id)
    if row is None:
        raise NotFound(f"no login session with id {session_id}")
    username = row.account.username
    session.delete(row)
    record_audit(
        session=session, actor=actor, action="session.end", target=username,
        detail={"session_id": session_id, "source_ip": row.source_ip},
    )  # fmt: skip


def locked_accounts(*, session: Session) -> list[Account]:
    """Accounts locked right now."""
    query = select(Account).where(Account.locked_until > utcnow()).order_by(Account.username)
    return list(session.scalars(query))


def locked_addresses(*, session: Session) -> list[IpLock]:
    """Source addresses locked right now."""
    query = select(IpLock).where(IpLock.locked_until > utcnow()).order_by(IpLock.source_ip)
    return list(session.scalars(query))


def unlock_account(*, session: Session, username: str, actor: Actor) -> Account:
    """Clear an account's lock and failure count."""
    account = find_account(session=session, username=username)
    if account is None:
        raise NotFound(f"no account named {username!r}")
    account.failed_logins = 0
    account.locked_until = None
    record_audit(session=session, actor=actor, action="account.unlock", target=account.username)
    return account


def unlock_address(*, session: Session, source_ip: str, actor: Actor) -> None:
    """Clear a source address's lock and failure count."""
    row = session.scalar(select(IpLock).where(IpLock.source_ip == source_ip))
    if row is None:
        raise NotFound(f"source address {source_ip} has no failed logins recorded")
    session.delete(row)
    record_audit(session=session, actor=actor, action="ip.unlock", target=source_ip)


def count_online(*, session: Session) -> int:
    """How many console sessions are live."""
    query = select(func.count()).select_from(LoginSession)
    return int(session.scalar(query.where(LoginSession.expires_at > utcnow())) or 0)
