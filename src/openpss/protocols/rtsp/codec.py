"""Pure codec for RTSP 1.0 (RFC 2326) messages, the Transport header and SDP (RFC 4566)."""

from __future__ import annotations

from dataclasses import dataclass, field

CRLF = "\r\n"
VERSION = "RTSP/1.0"
MAX_HEADER_BYTES = 8192  # ours: a request head larger than this is refused
MAX_BODY_BYTES = 16384
REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    454: "Session Not Found",
    453: "Not Enough Bandwidth",
    455: "Method Not Valid in This State",
    459: "Aggregate Operation Not Allowed",
    461: "Unsupported Transport",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "RTSP Version Not Supported",
}  # RFC 2326 §7.1.1


class RtspError(ValueError):
    """A message that is not valid RTSP; ``status`` is the answer to give."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class RtspRequest:
    """One request: method, URI, headers (names case-insensitive), body."""

    method: str
    uri: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        """A header value by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    @property
    def cseq(self) -> str:
        """The CSeq header."""
        return self.header("cseq", "0")

    def __bytes__(self) -> bytes:
        lines = [f"{self.method} {self.uri} {VERSION}"]
        lines += [f"{_title(k)}: {v}" for k, v in self.headers.items()]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return (CRLF.join(lines) + CRLF + CRLF).encode("utf-8") + self.body

    @classmethod
    def parse_head(cls, head: bytes) -> RtspRequest:
        """Parse the request line and headers (up to the blank line)."""
        if len(head) > MAX_HEADER_BYTES:
            raise RtspError(f"request head exceeds {MAX_HEADER_BYTES} bytes")
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RtspError("request head is not UTF-8") from exc
        lines = text.split("\r\n") if "\r\n" in text else text.split("\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise RtspError(f"malformed request line {lines[0][:80]!r}")
        method, uri, version = parts
        if version != VERSION:
            raise RtspError(f"unsupported version {version[:20]!r}", 505)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise RtspError(f"malformed header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        return cls(method, uri, headers)

    def content_length(self) -> int:
        """The declared body length, checked."""
        text = self.header("content-length", "0")
        if not text.isdigit() or int(text) > MAX_BODY_BYTES:
            raise RtspError(f"Content-Length must be 0-{MAX_BODY_BYTES}")
        return int(text)


@dataclass
class RtspResponse:
    """One response."""

    status: int
    cseq: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __bytes__(self) -> bytes:
        lines = [
            f"{VERSION} {self.status} {REASONS.get(self.status, 'Error')}",
            f"CSeq: {self.cseq}",
        ]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        return (CRLF.join(lines) + CRLF + CRLF).encode("utf-8") + self.body

    @classmethod
    def parse(cls, data: bytes) -> RtspResponse:
        """Parse a whole response (tests, clients)."""
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("utf-8").split("\r\n")
        version, status, *_ = lines[0].split(" ")
        if version != VERSION or not status.isdigit():
            raise RtspError(f"malformed status line {lines[0][:80]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return cls(int(status), headers.pop("cseq", "0"), headers, body)


_SPELLING = {"cseq": "CSeq", "www-authenticate": "WWW-Authenticate", "rtp-info": "RTP-Info"}


def _title(name: str) -> str:
    return _SPELLING.get(name) or "-".join(part.capitalize() for part in name.split("-"))


@dataclass(frozen=True)
class Transport:
    """One Transport header choice (RFC 2326 §12.39): RTP/AVP over UDP or interleaved TCP."""

    tcp: bool
    channels: tuple[int, int] | None = None  # interleaved=a-b
    client_ports: tuple[int, int] | None = None  # client_port=a-b
    multicast: bool = False

    @classmethod
    def parse(cls, header: str) -> Transport:
        """The first transport of a Transport header we can serve."""
        for choice in header.split(","):
            params = [p.strip() for p in choice.split(";")]
            spec = params[0].upper()
            if spec not in ("RTP/AVP", "RTP/AVP/UDP", "RTP/AVP/TCP"):
                continue
            values = dict(p.partition("=")[::2] for p in params[1:])
            tcp = spec == "RTP/AVP/TCP"
            multicast = "multicast" in params[1:]
            if multicast:
                continue
            if tcp:
                return cls(True, channels=_pair(values.get("interleaved", "0-1"), "interleaved"))
            if "client_port" not in values:
                raise RtspError("UDP transport needs client_port=a-b", 461)
            return cls(False, client_ports=_pair(values["client_port"], "client_port"))
        raise RtspError("no supported transport: use RTP/AVP (UDP) or RTP/AVP/TCP", 461)


def _pair(text: str, name: str) -> tuple[int, int]:
    first, _, second = text.partition("-")
    try:
        a = int(first)
        b = int(second) if second else a + 1
    except ValueError as exc:
        raise RtspError(f"{name} must be a-b, not {text!r}", 461) from exc
    if not (0 <= a <= 65535 and 0 <= b <= 65535):
        raise RtspError(f"{name} out of range", 461)
    return a, b


@dataclass(frozen=True)
class SdpTrack:
    """One media description of a stream's SDP."""

    kind: str  # "video" or "audio"
    payload_type: int
    encoding: str  # "H264" or "PCMU"
    clock_rate: int
    fmtp: str = ""
    control: str = ""


def build_sdp(*, session_id: int, host: str, name: str, tracks: list[SdpTrack]) -> str:
    """A session description (RFC 4566) for DESCRIBE."""
    lines = [
        "v=0",
        f"o=- {session_id} {session_id} IN IP4 {host}",
        f"s={name}",
        "c=IN IP4 0.0.0.0",
        "t=0 0",
        "a=control:*",
        "a=range:npt=now-",
    ]
    for track in tracks:
        lines += [
            f"m={track.kind} 0 RTP/AVP {track.payload_type}",
            f"a=rtpmap:{track.payload_type} {track.encoding}/{track.clock_rate}",
        ]
        if track.fmtp:
            lines.append(f"a=fmtp:{track.payload_type} {track.fmtp}")
        lines += [f"a=control:{track.control}", "a=recvonly"]
    return CRLF.join(lines) + CRLF
