"""Domain errors of the security package; each carries the HTTP status the API answers with."""

from __future__ import annotations

import datetime as dt


class SecurityError(Exception):
    """Base of the security domain's errors; the message says what to fix."""

    status_code = 400


class NotFound(SecurityError):
    """The account, token, session or lock does not exist."""

    status_code = 404


class Conflict(SecurityError):
    """The change clashes with the current state (already initialized, last administrator...)."""

    status_code = 409


class Invalid(SecurityError):
    """Input that breaks a rule (passwords do not match, answers repeat...)."""

    status_code = 422


class LoginRefused(SecurityError):
    """Wrong user name, password or security answer."""

    status_code = 401


class Locked(LoginRefused):
    """The account or the source address is locked after too many failed logins."""

    status_code = 423

    def __init__(self, what: str, until: dt.datetime) -> None:
        self.what = what
        self.until = until
        super().__init__(
            f"{what} is locked until {until:%Y-%m-%d %H:%M} UTC after too many failed logins; "
            "try again later or ask an administrator to unlock it"
        )


class NotBound(SecurityError):
    """The account is bound to other source addresses ("account binding IP")."""

    status_code = 403


class PasswordExpired(SecurityError):
    """The password is older than the maximum age; it must be changed before logging in."""

    status_code = 403
