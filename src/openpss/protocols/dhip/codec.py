"""Pure codec for DHIP frames (Dahua door stations, TCP 5000).

A frame is a 32-byte little-endian header then a JSON body::

    20 00 00 00   header length (32)
    44 48 49 50   "DHIP"
    u32           session id
    u32           request id
    u32           body length
    u32           0
    u32           body length (again)
    u32           0

We answer with compact one-line ASCII JSON ending in ``\\n``. Clients differ: some send
pretty-printed JSON and zeros in the header's session/id, several frames can arrive in one
read or one frame over several. So frames are cut by the header's length and ``id`` /
``session`` come from the JSON when it has them.

Login (``global.login``) is a challenge: the first answer is ``result: false`` with error
268632079 ``Component error: login challenge!`` and params ``random``, ``realm``
(``Login to <serial>``), ``encryption: "Default"``; the client then sends
``MD5(user:random:MD5(user:realm:password).upper()).upper()``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from typing import Any

HEADER = struct.Struct("<I4sIIIIII")
HEADER_SIZE = 32
MAGIC = b"DHIP"
MAX_BODY = 64 * 1024  # ours: no DHIP request of a door station comes near this

# Error codes real units answer (integrations of VTO2000/VTO4202 units).
ERROR_LOGIN_CHALLENGE = 268632079
ERROR_BAD_PASSWORD = 268632085
ERROR_LOCKED = 268632081
ERROR_NO_METHOD = 268894210
ERROR_BAD_SESSION = 287637505
ERROR_BAD_REQUEST = 268894209
MESSAGE_LOGIN_CHALLENGE = "Component error: login challenge!"
MESSAGE_BAD_PASSWORD = "Component error: password not valid!"
MESSAGE_LOCKED = "Component error: user is locked!"
MESSAGE_NO_METHOD = "Component error: method not found!"
MESSAGE_BAD_SESSION = "Invalid session in request data!"
MESSAGE_BAD_REQUEST = "Component error: invalid request!"


class DhipProtocolError(ValueError):
    """Bytes that are not a DHIP frame."""


@dataclass(frozen=True)
class DhipHeader:
    """The 32-byte header."""

    session: int
    request_id: int
    body_length: int

    def __bytes__(self) -> bytes:
        length = self.body_length
        return HEADER.pack(HEADER_SIZE, MAGIC, self.session, self.request_id, length, 0, length, 0)

    @classmethod
    def parse(cls, data: bytes) -> DhipHeader:
        """Parse and check a header (exactly 32 bytes)."""
        if len(data) != HEADER_SIZE:
            raise DhipProtocolError(f"DHIP header is {HEADER_SIZE} bytes, not {len(data)}")
        size, magic, session, request_id, length, _, length2, _ = HEADER.unpack(data)
        if size != HEADER_SIZE or magic != MAGIC:
            raise DhipProtocolError("not a DHIP header (expected 20 00 00 00 'DHIP')")
        if length2 not in (length, 0):
            raise DhipProtocolError(f"DHIP header lengths differ: {length} and {length2}")
        if length > MAX_BODY:
            raise DhipProtocolError(f"DHIP body of {length} bytes exceeds {MAX_BODY}")
        return cls(session, request_id, length)


@dataclass(frozen=True)
class DhipFrame:
    """One frame: header fields and the raw JSON body."""

    session: int
    request_id: int
    body: bytes

    def __bytes__(self) -> bytes:
        return bytes(DhipHeader(self.session, self.request_id, len(self.body))) + self.body

    @classmethod
    def parse(cls, data: bytes) -> DhipFrame:
        """Parse exactly one frame."""
        header = DhipHeader.parse(data[:HEADER_SIZE])
        body = data[HEADER_SIZE:]
        if len(body) != header.body_length:
            raise DhipProtocolError(
                f"DHIP body is {len(body)} bytes, the header says {header.body_length}"
            )
        return cls(header.session, header.request_id, body)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DhipFrame:
        """A frame carrying ``message`` as compact one-line JSON ending in ``\\n``."""
        body = encode_body(message)
        return cls(int(message.get("session") or 0), int(message.get("id") or 0), body)

    def message(self) -> dict[str, Any]:
        """The JSON body (pretty-printed, trailing newline or NULs accepted)."""
        return decode_body(self.body)


def encode_body(message: dict[str, Any]) -> bytes:
    """Compact one-line ASCII JSON ending in ``\\n``."""
    return (json.dumps(message, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")


def decode_body(body: bytes) -> dict[str, Any]:
    """A JSON object from a body; whitespace, newlines and trailing NULs are allowed."""
    text = body.rstrip(b"\x00").decode("utf-8", errors="replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DhipProtocolError(f"DHIP body is not JSON: {exc.msg} at {exc.pos}") from exc
    if not isinstance(value, dict):
        raise DhipProtocolError("DHIP body is not a JSON object")
    return value


@dataclass
class FrameDecoder:
    """Cuts a byte stream into frames by the header's length (split and merged reads)."""

    buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[DhipFrame]:
        """Add bytes; return every complete frame."""
        self.buffer += data
        frames: list[DhipFrame] = []
        while len(self.buffer) >= HEADER_SIZE:
            header = DhipHeader.parse(bytes(self.buffer[:HEADER_SIZE]))
            end = HEADER_SIZE + header.body_length
            if len(self.buffer) < end:
                break
            body = bytes(self.buffer[HEADER_SIZE:end])
            del self.buffer[:end]
            frames.append(DhipFrame(header.session, header.request_id, body))
        return frames


def md5_upper(text: str) -> str:
    """MD5 hex digest, upper-case (the DHIP login hashes)."""
    return hashlib.md5(text.encode("utf-8")).hexdigest().upper()  # DHIP login is MD5


def login_hash(user: str, random: str, ha1_upper: str) -> str:
    """``MD5(user:random:HA1.upper()).upper()`` where HA1 = MD5(user:realm:password)."""
    return md5_upper(f"{user}:{random}:{ha1_upper.upper()}")


def password_hash(user: str, password: str, realm: str, random: str) -> str:
    """What a client sends as ``password`` in its second ``global.login``."""
    return login_hash(user, random, md5_upper(f"{user}:{realm}:{password}"))


def error_message(
    request_id: int, session: int, code: int, message: str, **params: Any
) -> dict[str, Any]:
    """An error answer."""
    answer: dict[str, Any] = {"error": {"code": code, "message": message}, "id": request_id}
    if params:
        answer["params"] = params
    answer.update(result=False, session=session)
    return answer


def result_message(
    request_id: int, session: int, result: Any = True, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A successful answer."""
    answer: dict[str, Any] = {"id": request_id}
    if params is not None:
        answer["params"] = params
    answer.update(result=result, session=session)
    return answer


def event_message(
    attach_id: int, session: int, sid: int, events: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ``client.notifyEventStream`` frame body carrying the attach request's id."""
    return {
        "id": attach_id,
        "method": "client.notifyEventStream",
        "params": {"SID": sid, "eventList": events},
        "session": session,
    }


def event_entry(code: str, action: str, index: int, data: dict[str, Any]) -> dict[str, Any]:
    """One entry of ``eventList``."""
    return {"Action": action, "Code": code, "Data": data, "Index": index}
