"""Errors of the security domain that say more than the platform's kinds; all are DomainErrors."""

from __future__ import annotations

from openpss.platform.errors import Forbidden, Unauthenticated


class LoginRefused(Unauthenticated):
    """Wrong user name, password or security answer, or a disabled account."""


class NotBound(Forbidden):
    """The account is bound to other source addresses ("account binding IP")."""


class PasswordExpired(Forbidden):
    """The password is older than the maximum age; it must be changed before logging in."""
