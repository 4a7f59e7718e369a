"""Who may register, and what the server tells its owner: the two interfaces of ``SipServer``.

- ``AccountsProvider``: ``password_of(username)`` and ``usernames()``. ``StaticAccounts`` holds
  a dict and reads the CSV of ``openpss sip server --accounts`` (columns ``username,password``).
  The platform implements its own provider (device registry today, intercom domain later); a
  door station acting as SIP server implements one over its VTO/room lists.
- ``ServerEvents``: ``registration_changed`` (online/offline of a username) and ``call_ended``
  (a ``CallRecord`` per call). The default methods do nothing; owners override what they need.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# Usernames as the manuals write them: 8001 (VTO), 9901#0 (room#extension), 11#01#11#5 (platform
# registration numbers), letters allowed in room numbers (door-station 4.2.6).
USERNAME = re.compile(r"[A-Za-z0-9#*._-]{1,64}")


class AccountsProvider(Protocol):
    """The accounts a SIP server authenticates."""

    def password_of(self, username: str) -> str | None:
        """The password of ``username`` or None when there is no such account."""

    def usernames(self) -> Iterable[str]:
        """Every account name (for room expansion and 480 vs 404)."""


class AccountsError(ValueError):
    """A bad accounts file; the message names the file and line."""


class StaticAccounts:
    """Accounts held in memory."""

    def __init__(self, accounts: dict[str, str] | None = None) -> None:
        self._accounts = dict(accounts or {})

    def password_of(self, username: str) -> str | None:
        """The password or None."""
        return self._accounts.get(username)

    def usernames(self) -> Iterable[str]:
        """Every username."""
        return self._accounts.keys()

    def set(self, username: str, password: str) -> None:
        """Add or replace an account."""
        self._accounts[username] = password

    @classmethod
    def from_csv(cls, path: Path) -> StaticAccounts:
        """Read ``username,password`` rows; any bad row refuses the whole file."""
        accounts: dict[str, str] = {}
        try:
            text = path.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise AccountsError(f"{path}: cannot read the accounts file: {exc.strerror}") from exc
        rows = csv.reader(text.splitlines())
        header = next(rows, None)
        if header is None or [h.strip().lower() for h in header[:2]] != ["username", "password"]:
            raise AccountsError(f"{path}:1: the first row must be 'username,password'")
        for number, row in enumerate(rows, 2):
            if not row or not "".join(row).strip():
                continue
            if len(row) != 2:
                raise AccountsError(f"{path}:{number}: expected 2 columns, got {len(row)}")
            username, password = row[0].strip(), row[1]
            if not USERNAME.fullmatch(username):
                raise AccountsError(
                    f"{path}:{number}: username {username!r} must be 1-64 of A-Z a-z 0-9 # * . _ -"
                )
            if not password:
                raise AccountsError(f"{path}:{number}: empty password for {username}")
            if username in accounts:
                raise AccountsError(f"{path}:{number}: duplicate username {username}")
            accounts[username] = password
        return cls(accounts)


class EndState(enum.Enum):
    """How a call ended (call records, platform-video-intercom 3 and 4)."""

    answered = "answered"
    missed = "missed"  # nobody answered, or the caller gave up
    rejected = "rejected"  # declined (603) by the callee
    busy = "busy"  # every callee busy (486)
    failed = "failed"  # unknown number, nobody registered, errors


@dataclass
class CallRecord:
    """A call detail record."""

    call_id: str
    caller: str
    callee: str
    start: dt.datetime
    answered_by: str | None = None
    answer: dt.datetime | None = None
    end: dt.datetime | None = None
    end_state: EndState = EndState.failed
    status: int = 0  # the final status the caller got
    legs: list[tuple[str, int]] = field(default_factory=list)  # (username rung, its final)

    @property
    def duration(self) -> float:
        """Seconds talked (0 unless answered)."""
        if self.answer is None or self.end is None:
            return 0.0
        return (self.end - self.answer).total_seconds()


class ServerEvents:
    """Callbacks from the SIP server to its owner; override what you need."""

    def registration_changed(self, username: str, online: bool) -> None:
        """``username`` got its first binding (online) or lost its last one (offline)."""

    def call_ended(self, record: CallRecord) -> None:
        """A call finished; ``record`` is final."""
