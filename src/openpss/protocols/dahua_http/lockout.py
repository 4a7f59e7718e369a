"""Account lock after repeated failed logins (pure; no sockets).

The cybersecurity appendix of the device manuals: "The account lock feature is enabled by
default ... If an attacker attempts to log in with the wrong password several times, the
corresponding account and the source IP address will be locked." The manual gives no numbers;
we use the defaults of Dahua's web interface (Security > Account Lockout / "Illegal Login"):
5 login attempts, then a lock of 5 minutes (Dahua allows 1-60 minutes).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from openpss.protocols.guards import BoundedTable, RateLimitedLog

logger = logging.getLogger(__name__)

DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCK_SECONDS = 300.0
# Remembered accounts + addresses. When full, the oldest entry that is not locked now is
# forgotten: a flood of failures from random names and addresses never evicts a lock.
MAX_TRACKED = 4096


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class LoginLockout:
    """Counts consecutive failed logins per account and per source address; locks both."""

    def __init__(
        self,
        max_failures: int = DEFAULT_MAX_FAILURES,
        lock_seconds: float = DEFAULT_LOCK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_failures < 1:
            raise ValueError("max_failures must be at least 1")
        if not 60 <= lock_seconds <= 3600:
            raise ValueError("lock time must be 1-60 minutes")
        self.max_failures = max_failures
        self.lock_seconds = lock_seconds
        self._clock = clock
        self._state: BoundedTable[str, _Failures] = BoundedTable(
            MAX_TRACKED, protect=lambda _key, entry: entry.locked_until > self._clock()
        )
        self._log = RateLimitedLog(logger)

    @staticmethod
    def _keys(username: str, address: str) -> tuple[str, str]:
        return f"user:{username}", f"addr:{address}"

    def locked_for(self, username: str, address: str) -> float:
        """Seconds the account or the address stays locked (0.0 when neither is)."""
        now = self._clock()
        remaining = [
            entry.locked_until - now
            for key in self._keys(username, address)
            if (entry := self._state.get(key)) is not None
        ]
        return max([0.0, *remaining])

    def failed(self, username: str, address: str) -> float:
        """Record a wrong password; returns the lock time started now (0.0 if none)."""
        now = self._clock()
        started = 0.0
        for key in self._keys(username, address):
            entry = self._state.pop(key, None) or _Failures()
            if entry.locked_until and entry.locked_until <= now:
                entry = _Failures()  # an expired lock starts a new count
            entry.count += 1
            if entry.count >= self.max_failures and entry.locked_until <= now:
                entry.locked_until = now + self.lock_seconds
                started = self.lock_seconds
            if not self._state.put(key, entry):  # every tracked key is locked: refuse too
                self._log.warning("full", "lock table full of locked keys; refusing %s", key)
                started = started or self.lock_seconds
        if started:
            logger.warning("login locked for %.0f s after %d failures", started, self.max_failures)
        return started

    def succeeded(self, username: str, address: str) -> None:
        """A correct login resets the counts of the account and the address."""
        for key in self._keys(username, address):
            self._state.pop(key, None)
