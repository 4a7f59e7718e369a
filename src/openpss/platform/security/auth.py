"""Login, lockout of accounts and source addresses, console sessions and logout."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, contains_eager

from openpss.platform.db import utcnow
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


def _ip_row(session: Session, source_ip: str) -> IpLock:
    """The address's row, created if needed, locked for update and freshly read."""
    _insert_ip_row(session, source_ip)
    query = select(IpLock).where(IpLock.source_ip == source_ip).with_for_update()
    row = session.scalar(query.execution_options(populate_existing=True))
    if row is None:  # cannot happen: the row was just inserted or already existed
        raise RuntimeError(f"ip_lock row for {source_ip} vanished")
    return row


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


def register_failure(
    *, session: Session, account: Account | None, source_ip: str, policy: LockPolicy, reason: str
) -> Locked | None:
    """Count a failed attempt against the account and the address; returns the lock it caused."""
    now = utcnow()
    lock: Locked | None = None
    ip_row = _ip_row(session, source_ip)
    _expire(ip_row, now)
    ip_row.failed_logins = (ip_row.failed_logins or 0) + 1
    if ip_row.failed_logins >= policy.attempts:
        ip_row.locked_until = now + policy.duration
        lock = Locked(f"source address {source_ip}", ip_row.locked_until)
    if account is not None:
        # Re-read under a row lock so that simultaneous failures all count.
        session.refresh(account, attribute_names=["failed_logins", "locked_until"],
                        with_for_update=True)  # fmt: skip
        _expire(account, now)
        account.failed_logins += 1
        if account.failed_logins >= policy.attempts:
            account.locked_until = now + policy.duration
            lock = Locked(f"account {account.username}", account.locked_until)
    name = account.username if account is not None else "-"
    detail = {"reason": reason, "locked": lock is not None}
    record_audit(
        session=session, actor=Actor(name, source_ip), action="login.failure", detail=detail
    )
    if lock is not None:
        logger.warning("locked after failed logins: %s", lock.what)
    return lock


def reset_failures(*, session: Session, account: Account, source_ip: str) -> None:
    """A successful login clears the failure counters of the account and the address."""
    account.failed_logins = 0
    account.locked_until = None
    ip_row = session.scalar(select(IpLock).where(IpLock.source_ip == source_ip))
    if ip_row is not None:
        ip_row.failed_logins = 0
        ip_row.locked_until = None


def authenticate(
    *, session: Session, username: str, password: str, source_ip: str, policy: LockPolicy
) -> Account:
    """Check the credentials; raises Locked or LoginRefused after recording the failure.

    The caller must commit even when this raises, so that the failure counts.
    """
    account = find_account(session=session, username=username)
    try:
        check_not_locked(session=session, account=account, source_ip=source_ip)
    except Locked as exc:
        name = account.username if account is not None else "-"
        record_audit(
            session=session, actor=Actor(name, source_ip), action="login.failure",
            detail={"reason": f"{exc.what} locked"},
        )  # fmt: skip
        raise
    if account is not None and not address_allowed(account.allowed_networks, source_ip):
        record_audit(
            session=session, actor=Actor(account.username, source_ip), action="login.failure",
            detail={"reason": "source address not allowed by the account binding"},
        )  # fmt: skip
        check_binding(account, source_ip)
    # Unknown names cost one argon2 verification too, so timing does not reveal which names exist.
    stored = account.password_hash if account is not None else _dummy_hash()
    if not verify_password(stored, password) or account is None:
        lock = register_failure(
            session=session, account=account, source_ip=source_ip, policy=policy,
            reason="unknown account" if account is None else "wrong password",
        )  # fmt: skip
        raise lock or LoginRefused(WRONG_CREDENTIALS)
    if not account.enabled:
        record_audit(
            session=session, actor=Actor(account.username, source_ip), action="login.failure",
            detail={"reason": "account disabled"},
        )  # fmt: skip
        raise LoginRefused(f"account {account.username} is disabled; ask an administrator")
    return account


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
    reset_failures(session=session, account=account, source_ip=source_ip)
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
