"""SIP messages (RFC 3261 §7, §20, §25): parse and serialize, pure code.

``parse_message(data)`` reads the start line, the header fields (compact forms, folding, LWS
around colons, comma-separated values) and the body by Content-Length. It is structural:
typed fields (``via``, ``cseq``, ``from_``...) parse on access, and ``validate_request``
checks what a server needs before it acts (400 with a reason that says what is wrong).
``bytes(message)`` writes it back; a message written by us parses back to the same bytes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.headers import LIST_HEADERS, Headers, header_key, split_list
from openpss.protocols.sip.uri import SipUri, format_params, parse_params, split_params

T = TypeVar("T")
SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_BYTES = 65_535  # RFC 3261 §18.1.1: a UDP datagram holds at most this much
MAX_HEADERS = 128  # header fields per message; more is a flood (our cap)
# Headers that may appear once only (RFC 4475 §3.4.1 multi01).
SINGLE_HEADERS = frozenset(["call-id", "cseq", "content-length", "from", "to", "max-forwards"])
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_VIA = re.compile(r"\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+(\S+)\s*")
_LINE_END = re.compile(r"\r?\n")
_VERSION = re.compile(r"SIP/\d+\.\d+")
_REQUEST_URI = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:\S+")
_STATUS_LINE = re.compile(r"SIP/(\d+)\.(\d+) (\d{3})(?: (.*))?")

REASONS = {
    100: "Trying",
    180: "Ringing",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "Version Not Supported",
    513: "Message Too Large",
    603: "Decline",
}


@dataclass
class NameAddress:
    """``"Display" <uri>;params`` of From, To, Contact, Route, Record-Route."""

    uri: str
    display: str = ""
    params: dict[str, str | None] = field(default_factory=dict)
    bracketed: bool = True

    @classmethod
    def parse(cls, text: str) -> NameAddress:
        """Parse a name-addr or addr-spec with parameters."""
        text = text.strip()
        if "<" in text:
            return cls._parse_bracketed(text)
        if text.startswith('"'):
            raise SipParseError("quoted display name without <URI>")
        # addr-spec form: parameters after the URI belong to the header (RFC 3261 §20.10),
        # so the URI must not contain ',', ';' or '?' (RFC 4475 §3.1.2.13 regbadct).
        uri, _, param_text = text.partition(";")
        uri = uri.strip()
        if "?" in uri or not uri or any(c in uri for c in " \t"):
            raise SipParseError(f"URI with '?' or spaces must be enclosed in <>: {text[:60]!r}")
        return cls(uri, "", parse_params(param_text, what="header"), bracketed=False)

    @classmethod
    def _parse_bracketed(cls, text: str) -> NameAddress:
        head, _, rest = text.partition("<")
        uri, close, tail = rest.partition(">")
        if not close:
            raise SipParseError(f"unterminated <URI> in {text[:60]!r}")
        if uri != uri.strip() or not uri:
            raise SipParseError(f"spaces inside <URI> in {text[:60]!r}")
        display = _parse_display(head.strip())
        tail = tail.strip()
        if tail and not tail.startswith(";"):
            raise SipParseError(f"junk after <URI>: {tail[:30]!r}")
        return cls(uri, display, parse_params(tail[1:], what="header"))

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter."""
        return self.params.get("tag")

    @property
    def sip_uri(self) -> SipUri:
        """The URI parsed as a SIP URI."""
        return SipUri.parse(self.uri)

    def __str__(self) -> str:
        display = f'"{self.display}" ' if self.display else ""
        if not self.bracketed and not display:
            return f"{self.uri}{format_params(self.params)}"
        return f"{display}<{self.uri}>{format_params(self.params)}"


def _parse_display(head: str) -> str:
    if not head:
        return ""
    if head.startswith('"'):
        if not head.endswith('"') or len(head) < 2 or _ends_escaped(head[1:-1]):
            raise SipParseError("unterminated quoted display name")
        return head[1:-1]
    for word in head.split():
        if not _TOKEN.fullmatch(word):
            raise SipParseError(f"display name with non-token characters must be quoted: {head!r}")
    return head


def _ends_escaped(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


@dataclass
class Via:
    """``SIP/2.0/UDP host:port;branch=...;rport;received=...``."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Via:
        """Parse one Via value; LWS around '/' is allowed (RFC 4475 wsinv)."""
        if not text.strip():
            raise SipParseError("empty Via value")
        sent_by_part, _, param_text = text.partition(";")
        match = _VIA.fullmatch(sent_by_part)
        if not match:
            raise SipParseError(f"malformed Via {text[:60]!r}")
        host, port = _via_hostport(match[2])
        params = parse_params(param_text, what="Via") if ";" in text else {}
        return cls(match[1].upper(), host, port, params)

    @property
    def branch(self) -> str | None:
        """The branch parameter (transaction id)."""
        return self.params.get("branch")

    def __str__(self) -> str:
        hostport = self.host if self.port is None else f"{self.host}:{self.port}"
        return f"SIP/2.0/{self.transport} {hostport}{format_params(self.params)}"


_HOSTPORT = re.compile(r"([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?")


def _via_hostport(text: str) -> tuple[str, int | None]:
    match = _HOSTPORT.fullmatch(text)
    if not match:
        raise SipParseError(f"malformed Via sent-by {text[:60]!r}")
    port = int(match[2]) if match[2] else None
    if port is not None and not 0 < port < 65536:
        raise SipParseError(f"Via port must be 1-65535, not {port}")
    return match[1], port


@dataclass(frozen=True)
class CSeq:
    """``CSeq: 4711 INVITE``."""

    number: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        """Parse; the number must fit 32 bits (RFC 3261 §8.1.1.5)."""
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not _TOKEN.fullmatch(parts[1]):
            raise SipParseError(f"CSeq must be 'number METHOD', not {text[:40]!r}")
        number = int(parts[0])
        if number >= 2**31:
            raise SipParseError("CSeq number must be below 2**31")
        return cls(number, parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"


@dataclass
class SipMessage:
    """What requests and responses share: headers and body."""

    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    # parsed fields by name, valid while the headers object and its version are unchanged
    _parsed: dict[str, tuple[Headers, int, Any]] = field(
        default_factory=dict, repr=False, compare=False, kw_only=True
    )

    def _cached(self, name: str, parse: Callable[[], T]) -> T:
        hit = self._parsed.get(name)
        if hit is not None and hit[0] is self.headers and hit[1] == self.headers.version:
            return cast(T, hit[2])
        value = parse()
        self._parsed[name] = (self.headers, self.headers.version, value)
        return value

    @property
    def call_id(self) -> str:
        """The Call-ID."""
        return self._cached("call-id", lambda: self._required("Call-ID").strip())

    @property
    def cseq(self) -> CSeq:
        """The CSeq."""
        return self._cached("cseq", lambda: CSeq.parse(self._required("CSeq")))

    @property
    def from_(self) -> NameAddress:
        """The From header (parsed once; do not modify the result)."""
        return self._cached("from", lambda: NameAddress.parse(self._required("From")))

    @property
    def to(self) -> NameAddress:
        """The To header (parsed once; do not modify the result)."""
        return self._cached("to", lambda: NameAddress.parse(self._required("To")))

    @property
    def vias(self) -> list[Via]:
        """Every Via, top first."""
        return self._cached(
            "vias", lambda: [Via.parse(value) for value in self.headers.get_all("Via")]
        )

    @property
    def top_via(self) -> Via:
        """The topmost Via (parsed once; do not modify the result)."""
        vias = self.vias
        if not vias:
            raise SipParseError("missing Via")
        return vias[0]

    def replace_top_via(self, via: Via) -> None:
        """Put ``via`` in place of the topmost Via, keeping the parsed list current."""
        vias = [via, *self.vias[1:]]
        self.headers.pop_first_value("Via")
        self.headers.prepend("Via", str(via))
        self._parsed["vias"] = (self.headers, self.headers.version, vias)

    @property
    def contacts(self) -> list[NameAddress]:
        """Every Contact (``*`` comes back as a NameAddress with uri '*')."""
        return self._cached("contacts", self._parse_contacts)

    def _parse_contacts(self) -> list[NameAddress]:
        return [
            NameAddress("*", bracketed=False) if value == "*" else NameAddress.parse(value)
            for value in self.headers.get_all("Contact")
        ]

    def _required(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {name} header")
        return value

    def set_body(self, body: bytes, content_type: str | None = None) -> None:
        """Set the body and its Content-Length (and Content-Type when given)."""
        self.body = body
        if content_type:
            self.headers.set("Content-Type", content_type)
        elif not body:
            self.headers.remove("Content-Type")
        self.headers.set("Content-Length", str(len(body)))

    def _serialize(self, start_line: str) -> bytes:
        lines, has_length = self.headers.field_lines()
        if not has_length:
            lines.append(f"Content-Length: {len(self.body)}")
        lines.insert(0, start_line)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class SipRequest(SipMessage):
    """A request: ``METHOD uri SIP/2.0``."""

    method: str = "OPTIONS"
    uri: str = "sip:invalid"
    version: str = SIP_VERSION

    @property
    def sip_uri(self) -> SipUri:
        """The Request-URI parsed (416 for another scheme)."""
        return SipUri.parse(self.uri)

    def __bytes__(self) -> bytes:
        return self._serialize(f"{self.method} {self.uri} {self.version}")


@dataclass
class SipResponse(SipMessage):
    """A response: ``SIP/2.0 status reason``."""

    status: int = 200
    reason: str = "OK"
    version: str = SIP_VERSION

    def __bytes__(self) -> bytes:
        return self._serialize(f"{self.version} {self.status} {self.reason}")


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Parse one message; bytes after Content-Length are ignored (RFC 4475 dblreq)."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise SipParseError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}", status=513)
    head, body = _split_head(data)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("header section is not UTF-8") from exc
    lines = _unfold(text)
    if not lines or not lines[0]:
        raise SipParseError("empty start line")
    headers = Headers(_parse_header_lines(lines[1:]))
    body = _take_body(headers, body)
    start = lines[0]
    if start.startswith("SIP/"):
        return _parse_status_line(start, headers, body)
    return _parse_request_line(start, headers, body)


def _split_head(data: bytes) -> tuple[bytes, bytes]:
    data = data.lstrip(b"\r\n")  # RFC 3261 §7.5: CRLFs before the start line are ignored
    end = data.find(b"\r\n\r\n")
    if end >= 0:
        return data[:end], data[end + 4 :]
    end = data.find(b"\n\n")  # tolerate bare LF line ends
    if end >= 0:
        return data[:end], data[end + 2 :]
    return data.rstrip(b"\r\n"), b""


def _unfold(text: str) -> list[str]:
    if text.count("\n") == text.count("\r\n"):
        raw_lines = text.split("\r\n")
    else:
        raw_lines = _LINE_END.split(text)  # bare LF line ends (tolerated)
    if "\n " not in text and "\n\t" not in text:
        return raw_lines  # nothing folded: the common case, without a loop
    lines: list[str] = []
    for raw in raw_lines:
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip() + " " + raw.strip()
        else:
            lines.append(raw)
    return lines


@functools.lru_cache(maxsize=512)
def _is_token(text: str) -> bool:
    """A header name or method is a token (cached: the same few names come every time)."""
    return _TOKEN.fullmatch(text) is not None


def _parse_header_lines(lines: list[str]) -> list[tuple[str, str]]:
    if len(lines) > MAX_HEADERS:
        raise SipParseError(f"more than {MAX_HEADERS} header fields")
    items: list[tuple[str, str]] = []
    for line in lines:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not _is_token(name):
            raise SipParseError(f"malformed header line {line[:40]!r}")
        if "\r" in value:
            raise SipParseError(f"bare CR in the {name} header (header injection)")
        items.append((name, value.strip()))
    return items


def _take_body(headers: Headers, rest: bytes) -> bytes:
    values = headers.raw_all("Content-Length")
    if not values:
        return rest
    if len(values) > 1:
        raise SipParseError("more than one Content-Length")
    length = parse_content_length(values[0])
    if length > len(rest):
        raise SipParseError(f"Content-Length {length} is larger than the {len(rest)}-byte body")
    return rest[:length]


def parse_content_length(value: str) -> int:
    """A Content-Length value: digits only, within the message size cap."""
    value = value.strip()
    if not value.isdigit():
        raise SipParseError(f"Content-Length must be a non-negative number, not {value[:20]!r}")
    length = int(value)
    if length > MAX_MESSAGE_BYTES:
        raise SipParseError(f"Content-Length {length} exceeds {MAX_MESSAGE_BYTES}", status=513)
    return length


def _parse_request_line(line: str, headers: Headers, body: bytes) -> SipRequest:
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        raise SipParseError("request line must be 'METHOD Request-URI SIP/2.0' with single spaces")
    method, uri, version = parts
    if not _TOKEN.fullmatch(method):
        raise SipParseError(f"method {method[:20]!r} is not a token")
    if not _VERSION.fullmatch(version):
        raise SipParseError(f"malformed SIP version {version[:20]!r}")
    if uri.startswith("<") or not _REQUEST_URI.fullmatch(uri):
        raise SipParseError(f"malformed Request-URI {uri[:60]!r}")
    return SipRequest(headers, body, method, uri, version)


def _parse_status_line(line: str, headers: Headers, body: bytes) -> SipResponse:
    match = _STATUS_LINE.fullmatch(line)
    if not match:
        raise SipParseError(f"malformed status line {line[:60]!r}")
    status = int(match[3])
    if not 100 <= status <= 699:
        raise SipParseError(f"status code {status} outside 100-699")
    return SipResponse(headers, body, status, match[4] or "", f"SIP/{match[1]}.{match[2]}")


def validate_request(request: SipRequest, *, common: bool = True) -> None:
    """What a server checks before acting; SipParseError carries the status to answer.

    ``common=False`` skips what ``validate_common`` checks (the transport did it on receipt).
    """
    if request.version != SIP_VERSION:
        raise SipParseError(f"SIP version {request.version} is not supported", status=505)
    if common:
        validate_common(request)
    cseq = request.cseq
    if cseq.method != request.method:
        raise SipParseError(f"CSeq method {cseq.method} does not match {request.method}")
    if request.sip_uri.headers:
        raise SipParseError("headers in the Request-URI are not allowed")
    max_forwards = request.headers.get("Max-Forwards")
    if max_forwards is not None and (
        not max_forwards.isdigit() or int(max_forwards) > 255 or len(max_forwards) > 6
    ):
        raise SipParseError("Max-Forwards must be a number 0-255")
    date = request.headers.get("Date")
    if date is not None and not date.rstrip().endswith("GMT"):
        raise SipParseError("Date must be given in GMT (RFC 3261 §20.17)")
    expires = request.headers.get("Expires")
    if expires is not None and (not expires.isdigit() or int(expires) >= 2**32):
        raise SipParseError("Expires must be a number of seconds below 2**32")
    request.contacts  # noqa: B018 - parse for the 400 it raises


_REQUIRED = (
    ("Via", "via"),
    ("From", "from"),
    ("To", "to"),
    ("Call-ID", "call-id"),
    ("CSeq", "cseq"),
)


def validate_common(message: SipMessage) -> None:
    """Fields every message needs, single-valued headers once, parsable addresses."""
    index = message.headers.index()
    for key in SINGLE_HEADERS:
        values = index.get(key)
        if values is not None and len(values) > 1:
            raise SipParseError(f"{key} appears more than once")
    for name, key in _REQUIRED:
        if key not in index:
            raise SipParseError(f"missing {name} header")
    if not message.call_id:
        raise SipParseError("empty Call-ID")
    message.vias  # noqa: B018
    message.from_  # noqa: B018
    message.to  # noqa: B018
    message.cseq  # noqa: B018


def make_response(
    request: SipRequest, status: int, reason: str | None = None, *, to_tag: str | None = None
) -> SipResponse:
    """A response to ``request``: Via, From, To (tag added), Call-ID, CSeq copied (§8.2.6)."""
    headers = Headers()
    for value in request.headers.raw_all("Via"):
        headers.add("Via", value)
    for name in ("From", "To", "Call-ID", "CSeq"):
        found = request.headers.get(name)
        if found is None:
            continue
        if name == "To" and to_tag and status > 100 and ";tag=" not in found.replace(" ", ""):
            found = f"{found};tag={to_tag}"
        headers.add(name, found)
    if 100 < status < 300:  # §12.1.1: the route set travels back in dialog-creating answers
        for value in request.headers.raw_all("Record-Route"):
            headers.add("Record-Route", value)
    response = SipResponse(headers, b"", status, reason or REASONS.get(status, "Unknown"))
    return response


def make_cancel(invite: SipRequest, reason: str | None = None) -> SipRequest:
    """The CANCEL of a sent INVITE: same top Via (branch), Request-URI, From, To, Call-ID (§9.1),
    with an optional Reason header value (RFC 3326)."""
    headers = Headers()
    headers.add("Via", invite.headers.get_all("Via")[0])
    for name in ("From", "To", "Call-ID"):
        headers.add(name, invite.headers.get(name) or "")
    headers.add("CSeq", f"{invite.cseq.number} CANCEL")
    for route in invite.headers.raw_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    if reason:
        headers.add("Reason", reason)
    headers.add("Content-Length", "0")
    return SipRequest(headers, b"", "CANCEL", invite.uri)


def split_lines_for_error(data: bytes) -> Headers:
    """Best-effort header lines of an unparsable message, to answer it with a 400."""
    head, _ = _split_head(data)
    items: list[tuple[str, str]] = []
    for line in _unfold(head.decode("utf-8", errors="replace"))[1:MAX_HEADERS]:
        name, colon, value = line.partition(":")
        if colon and _TOKEN.fullmatch(name.strip()):
            items.append((name.strip(), value.strip()))
    return Headers(items)


__all__ = [
    "LIST_HEADERS",
    "MAX_MESSAGE_BYTES",
    "REASONS",
    "SIP_VERSION",
    "CSeq",
    "Headers",
    "NameAddress",
    "SipMessage",
    "SipParseError",
    "SipRequest",
    "SipResponse",
    "Via",
    "format_params",
    "header_key",
    "make_response",
    "parse_message",
    "split_list",
    "split_params",
    "validate_request",
]
