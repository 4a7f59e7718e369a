"""Domain errors of the intercom module; the API and console map each class to an HTTP status."""

from __future__ import annotations


class IntercomError(ValueError):
    """Invalid input or a broken rule of the manual (HTTP 422); the message says what to fix."""


class NotFound(IntercomError):
    """The addressed building, unit, room or registration does not exist (HTTP 404)."""


class Conflict(IntercomError):
    """The change clashes with existing data or something depends on it (HTTP 409)."""


class Unavailable(IntercomError):
    """A device did not answer or refused the change (HTTP 502)."""
