"""Domain errors of the personnel module; the API maps each class to an HTTP status."""

from __future__ import annotations


class PeopleError(ValueError):
    """Invalid input or a broken rule (HTTP 422); the message says what to fix."""


class NotFound(PeopleError):
    """The addressed company, department, person or credential does not exist (HTTP 404)."""


class Conflict(PeopleError):
    """The change clashes with existing data, e.g. a duplicate user ID or card (HTTP 409)."""
