"""The platform's domain errors: one base, a few kinds, raised by every domain's services.

Services raise these and never import FastAPI; `openpss.platform.web.errors` maps each kind to
an HTTP status once for the API (one JSON shape) and once for the console (its error page).
The message always says what is wrong and what to fix; data a page or a client needs (the
field at fault, the role that is needed) travels as attributes, never inside the message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence


# A ValueError: a domain error is a refusal of the caller's input or request, and callers that
# validate a whole file (imports) catch ValueError around each row.
class DomainError(ValueError):
    """Base of every domain error; `str(exc)` is the message shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    """The addressed object (person, device, group, camera ...) does not exist."""


class Conflict(DomainError):
    """The change clashes with the current state: a duplicate name, an object still in use."""


class Invalid(DomainError):
    """Input that breaks a rule of the manual; `loc` names the field at fault when known, and
    `items` lists several faults at once as (loc, message) (e.g. the bad rows of an import)."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        loc: Sequence[str | int] = (),
        items: Sequence[tuple[Sequence[str | int], str]] = (),
    ) -> None:
        super().__init__(message)
        self.loc: tuple[str | int, ...] = tuple(loc) or ((field,) if field else ())
        self.items = [(tuple(where), what) for where, what in items] or [(self.loc, message)]


class Forbidden(DomainError):
    """The caller may not do this; `needed_role` is the role that would allow it, if any."""

    def __init__(self, message: str, *, needed_role: str | None = None) -> None:
        super().__init__(message)
        self.needed_role = needed_role


class Unauthenticated(DomainError):
    """No valid credentials: log in or send a bearer token."""


class Locked(DomainError):
    """An account or source address is locked after too many failures until `until`."""

    def __init__(self, what: str, until: dt.datetime) -> None:
        self.what = what
        self.until = until
        super().__init__(
            f"{what} is locked until {until:%Y-%m-%d %H:%M} UTC after too many failed logins; "
            "try again later or ask an administrator to unlock it"
        )


class TooLarge(DomainError):
    """An upload or request body is larger than the limit the message states."""


class Unavailable(DomainError):
    """A device or camera the request needs did not answer or refused the request."""
