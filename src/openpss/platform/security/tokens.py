"""Console sessions and API bearer tokens: random secrets whose SHA-256 is stored."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.db import utcnow
from openpss.platform.security.models import Account, ApiToken, LoginSession

TOKEN_PREFIX = "opss_"
# last_seen of a console session is written at most this often (not on every request).
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=30)


def digest(token: str) -> str:
    """The stored form of a secret token."""
    return hashlib.sha256(token.encode()).hexdigest()


def open_login_session(
    *,
    session: Session,
    account: Account,
    lifetime: dt.timedelta,
    remember: bool = False,
    source_ip: str = "",
    user_agent: str = "",
) -> tuple[str, LoginSession]:
    """Start a console session; returns the cookie value and the row."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_hash=digest(token),
        csrf_token=secrets.token_urlsafe(32),
        account_id=account.id,
        source_ip=source_ip,
        user_agent=user_agent[:255],
        remember=remember,
        expires_at=utcnow() + lifetime,
    )
    session.add(row)
    session.flush()
    return token, row


def find_login_session(*, session: Session, token: str) -> LoginSession | None:
    """The live session for a cookie value, touching its last-seen time."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == digest(token)))
    now = utcnow()
    if row is None or row.expires_at <= now or not row.account.enabled:
        return None
    if now - row.last_seen >= LAST_SEEN_RESOLUTION:
        row.last_seen = now
    return row


def create_api_token(
    *, session: Session, account: Account, name: str, expires_at: dt.datetime | None = None
) -> tuple[str, ApiToken]:
    """Issue a bearer token; the secret is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=digest(token), name=name, account_id=account.id, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    return token, row


def find_api_token(*, session: Session, token: str) -> ApiToken | None:
    """The live token row for a bearer secret."""
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))
    if row is None or not row.account.enabled:
        return None
    now = utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    # Like a session's last_seen: a script's every read must not become a database write.
    if row.last_used is None or now - row.last_used >= LAST_SEEN_RESOLUTION:
        row.last_used = now
    return row
