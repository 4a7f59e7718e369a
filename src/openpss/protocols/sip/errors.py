"""The one exception of the SIP codec: what is wrong and which status answers it."""

from __future__ import annotations


class SipParseError(ValueError):
    """A malformed SIP message or field; ``status`` is the response a server sends (400, 416...)."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
