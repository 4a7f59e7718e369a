"""Pure codec for the ``eventManager.cgi?action=attach`` multipart event stream.

The device answers ``multipart/x-mixed-replace; boundary=myboundary`` and writes one part per
event::

    --myboundary\\r\\n
    Content-Type: text/plain\\r\\n
    Content-Length: <n>\\r\\n
    \\r\\n
    Code=AccessControl;action=Pulse;index=0;data={...}\\r\\n

``Content-Length`` counts the body only. When the URL has ``heartbeat=N`` a part whose body is
``Heartbeat`` is written every N seconds (Dahua HTTP API, eventManager attach).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from openpss.protocols.dahua_http.codec import DahuaProtocolError

BOUNDARY = "myboundary"
CONTENT_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"
HEARTBEAT = "Heartbeat"
MAX_PART_BYTES = 1 << 20


@dataclass(frozen=True)
class EventPart:
    """One event: ``Code=...;action=...;index=...;data={json}``, or a heartbeat."""

    code: str
    action: str = "Pulse"
    index: int = 0
    data: dict[str, Any] | None = field(default=None)

    @property
    def is_heartbeat(self) -> bool:
        """True for the ``Heartbeat`` keep-alive part."""
        return self.code == HEARTBEAT

    def body(self) -> str:
        """The part body (what ``Content-Length`` counts)."""
        if self.is_heartbeat:
            return HEARTBEAT
        text = f"Code={self.code};action={self.action};index={self.index}"
        if self.data is not None:
            # ensure_ascii keeps characters == bytes, which readers counting chars rely on.
            text += ";data=" + json.dumps(self.data, separators=(",", ":"), ensure_ascii=True)
        return text

    def __bytes__(self) -> bytes:
        body = self.body().encode("ascii")
        head = (
            f"--{BOUNDARY}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        return head + body + b"\r\n"

    @classmethod
    def parse_body(cls, body: str) -> EventPart:
        """Parse a part body (``Heartbeat`` or ``Code=...;...``)."""
        body = body.strip()
        if body == HEARTBEAT:
            return cls(code=HEARTBEAT, action="", index=0)
        fields: dict[str, str] = {}
        rest = body
        while rest:
            key, sep, tail = rest.partition("=")
            if not sep:
                raise DahuaProtocolError(f"event field without '=': {rest[:40]!r}")
            if key == "data":
                fields["data"] = tail
                break
            value, _, rest = tail.partition(";")
            fields[key] = value
        if "Code" not in fields:
            raise DahuaProtocolError("event body has no Code field")
        return cls(
            code=fields["Code"],
            action=fields.get("action", ""),
            index=_parse_index(fields.get("index", "0")),
            data=_parse_data(fields.get("data")),
        )


def _parse_index(text: str) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise DahuaProtocolError(f"event index is not an integer: {text!r}") from exc


def _parse_data(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DahuaProtocolError(f"event data is not JSON: {exc.msg}") from exc
    if not isinstance(value, dict):
        raise DahuaProtocolError("event data is not a JSON object")
    return value


class EventStreamDecoder:
    """Incremental decoder: feed bytes as they arrive, get complete parts back."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[EventPart]:
        """Add bytes; return every part now complete."""
        self._buffer += chunk
        parts: list[EventPart] = []
        while True:
            part = self._next_part()
            if part is None:
                return parts
            parts.append(part)

    def _next_part(self) -> EventPart | None:
        header_end = self._buffer.find(b"\r\n\r\n")
        if header_end < 0:
            if len(self._buffer) > MAX_PART_BYTES:
                raise DahuaProtocolError("event part header is too long")
            return None
        length = _content_length(self._buffer[:header_end])
        start = header_end + 4
        if len(self._buffer) < start + length:
            return None
        body = self._buffer[start : start + length]
        self._buffer = self._buffer[start + length :].lstrip(b"\r\n")
        return EventPart.parse_body(body.decode("utf-8", errors="replace"))


def _content_length(head: bytes) -> int:
    for line in head.decode("latin-1").split("\r\n"):
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "content-length":
            try:
                length = int(value.strip())
            except ValueError as exc:
                raise DahuaProtocolError(f"bad Content-Length {value.strip()!r}") from exc
            if not 0 <= length <= MAX_PART_BYTES:
                raise DahuaProtocolError(f"Content-Length {length} is out of range")
            return length
    raise DahuaProtocolError("event part has no Content-Length header")
