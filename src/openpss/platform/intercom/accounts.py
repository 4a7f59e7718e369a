"""The platform SIP server's accounts provider: the intercom registration numbers (2.2).

The SIP server asks for passwords on every REGISTER/INVITE from the event loop, so the accounts
are held as a snapshot, re-read from the database when older than `max_age` seconds or after a
change made through this process (`invalidate`). Accounts of the optional CSV file
(OPENPSS_SIP_ACCOUNTS_FILE) are served too; a registration number wins over a file entry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.intercom.registrations import sip_accounts
from openpss.protocols.sip.accounts import AccountsProvider

logger = logging.getLogger(__name__)

MAX_AGE_SECONDS = 5.0  # how stale a snapshot may get before it is re-read


class IntercomAccounts:
    """AccountsProvider over the intercom_registration table (plus an optional fallback)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        secret_key: str,
        *,
        fallback: AccountsProvider | None = None,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        self._secret_key = secret_key
        self._fallback = fallback
        self._max_age = max_age
        self._clock = clock
        self._accounts: dict[str, str] = {}
        self._loaded_at: float | None = None

    def invalidate(self) -> None:
        """Re-read the accounts on the next lookup (after a registration changed)."""
        self._loaded_at = None

    def _current(self) -> dict[str, str]:
        now = self._clock()
        if self._loaded_at is None or now - self._loaded_at >= self._max_age:
            try:
                with self._session_factory() as session:
                    self._accounts = sip_accounts(session=session, secret_key=self._secret_key)
            except SQLAlchemyError as exc:  # keep serving the last snapshot
                logger.warning("SIP accounts not re-read: %s", exc)
            self._loaded_at = now
        return self._accounts

    def password_of(self, username: str) -> str | None:
        """The registration's SIP password, else the fallback's, else None."""
        password = self._current().get(username)
        if password is None and self._fallback is not None:
            return self._fallback.password_of(username)
        return password

    def usernames(self) -> Iterable[str]:
        """Every registration number and fallback username."""
        names = set(self._current())
        if self._fallback is not None:
            names.update(self._fallback.usernames())
        return sorted(names)
