"""Domain errors of the intercom module, part of the platform's one hierarchy
(platform/errors.py): each maps to the HTTP status of its shared kind."""

from __future__ import annotations

from openpss.platform import errors


class IntercomError(errors.DomainError):
    """Invalid input or a broken rule of the manual (HTTP 422); the message says what to fix."""


class NotFound(errors.NotFound, IntercomError):
    """The addressed building, unit, room or registration does not exist (HTTP 404)."""


class Conflict(errors.Conflict, IntercomError):
    """The change clashes with existing data or something depends on it (HTTP 409)."""


class Unavailable(errors.Unavailable, IntercomError):
    """A device did not answer or refused the change (HTTP 502)."""
