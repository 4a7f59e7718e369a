"""SDP (RFC 4566) with offer/answer helpers (RFC 3264), pure code.

What the intercom needs: audio PCMA/PCMU + telephone-event, video H.264 with or without
``fmtp``, directions (sendrecv/sendonly/recvonly/inactive), connection per session or media.
Lines keep their order, so ``str(SessionDescription.parse(text)) == text`` for CRLF input;
unknown lines are kept as they are (Dahua units add their own attributes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openpss.protocols.sip.errors import SipParseError

DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
# RFC 3551 static payload types the intercom uses.
STATIC_CODECS = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}
_REVERSE_DIRECTION = {"sendonly": "recvonly", "recvonly": "sendonly"}


@dataclass
class Codec:
    """One payload type of a media line."""

    payload_type: int
    name: str
    clock_rate: int
    fmtp: str | None = None


@dataclass
class Media:
    """An ``m=`` section and its lines."""

    kind: str
    port: int
    proto: str
    formats: list[str]
    lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def attributes(self) -> list[str]:
        """Values of the ``a=`` lines."""
        return [value for key, value in self.lines if key == "a"]

    @property
    def connection_address(self) -> str | None:
        """The media-level ``c=`` address."""
        return next((_c_address(v) for k, v in self.lines if k == "c"), None)

    @property
    def direction(self) -> str:
        """sendrecv unless an attribute says otherwise."""
        return next((a for a in self.attributes if a in DIRECTIONS), "sendrecv")

    @property
    def codecs(self) -> list[Codec]:
        """Payload types in preference order with their rtpmap/fmtp."""
        rtpmap: dict[str, tuple[str, int]] = {}
        fmtp: dict[str, str] = {}
        for attribute in self.attributes:
            name, _, value = attribute.partition(":")
            pt, _, rest = value.partition(" ")
            if name == "rtpmap":
                name_text, _, rate_text = rest.partition("/")
                clock = rate_text.split("/")[0]
                rtpmap[pt] = (name_text, int(clock) if clock.isdigit() else 0)
            elif name == "fmtp":
                fmtp[pt] = rest
        out = []
        for pt in self.formats:
            if not pt.isdigit():
                continue
            encoding, rate = rtpmap.get(pt, STATIC_CODECS.get(int(pt), ("", 0)))
            out.append(Codec(int(pt), encoding, rate, fmtp.get(pt)))
        return out

    def set_direction(self, direction: str) -> None:
        """Replace (or add) the direction attribute."""
        self.lines = [(k, v) for k, v in self.lines if not (k == "a" and v in DIRECTIONS)]
        self.lines.append(("a", direction))

    def __str__(self) -> str:
        head = f"m={self.kind} {self.port} {self.proto} {' '.join(self.formats)}\r\n"
        return head + "".join(f"{k}={v}\r\n" for k, v in self.lines)


@dataclass
class SessionDescription:
    """A whole SDP body."""

    lines: list[tuple[str, str]]
    media: list[Media]

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        """Parse; v= first and o=/s= present, every line ``x=value``."""
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        session: list[tuple[str, str]] = []
        media: list[Media] = []
        for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
            if not line:
                continue
            if len(line) < 2 or line[1] != "=" or not line[0].isalpha():
                raise SipParseError(
                    f"SDP line {number} is not 'x=value': {line[:40]!r}", status=488
                )
            key, value = line[0], line[2:]
            if key == "m":
                media.append(_parse_m_line(value, number))
            elif media:
                media[-1].lines.append((key, value))
            else:
                session.append((key, value))
        if not session or session[0] != ("v", "0"):
            raise SipParseError("SDP must start with v=0", status=488)
        if not any(k == "o" for k, _ in session):
            raise SipParseError("SDP lacks the o= line", status=488)
        return cls(session, media)

    @property
    def connection_address(self) -> str | None:
        """The session-level ``c=`` address."""
        return next((_c_address(v) for k, v in self.lines if k == "c"), None)

    def media_address(self, media: Media) -> str | None:
        """Where a media stream goes: its own c= or the session's."""
        return media.connection_address or self.connection_address

    def first(self, kind: str) -> Media | None:
        """The first media section of ``kind`` (audio, video)."""
        return next((m for m in self.media if m.kind == kind), None)

    def __str__(self) -> str:
        return "".join(f"{k}={v}\r\n" for k, v in self.lines) + "".join(map(str, self.media))

    def __bytes__(self) -> bytes:
        return str(self).encode("utf-8")


def _parse_m_line(value: str, number: int) -> Media:
    parts = value.split()
    if len(parts) < 4 or not parts[1].split("/")[0].isdigit():
        raise SipParseError(f"SDP line {number}: m= needs 'media port proto fmt...'", status=488)
    port = int(parts[1].split("/")[0])
    if port > 65535:
        raise SipParseError(f"SDP line {number}: port {port} above 65535", status=488)
    return Media(parts[0], port, parts[2], parts[3:])


def _c_address(value: str) -> str:
    parts = value.split()
    if len(parts) != 3:
        raise SipParseError(f"SDP c= must be 'IN IP4 address', not {value!r}", status=488)
    return parts[2].split("/")[0]


AUDIO_FORMATS = {"PCMA": "8", "PCMU": "0"}  # RFC 3551 static payload types


def build_offer(
    *,
    address: str,
    audio_port: int | None,
    video_port: int | None = None,
    session_id: int = 1,
    direction: str = "sendrecv",
    h264_fmtp: str | None = "profile-level-id=42e01f;packetization-mode=1",
    origin: str = "openpss",
    session_name: str = "openpss",
    audio_codecs: tuple[str, ...] = ("PCMA", "PCMU"),
    video_direction: str | None = None,
) -> SessionDescription:
    """An offer with G.711 (``audio_codecs``) and telephone-event audio and/or H.264 video;
    the video's direction is ``video_direction``, else ``direction``."""
    family = "IP6" if ":" in address else "IP4"
    lines = [
        ("v", "0"),
        ("o", f"{origin} {session_id} {session_id} IN {family} {address}"),
        ("s", session_name),
        ("c", f"IN {family} {address}"),
        ("t", "0 0"),
    ]
    media = []
    if audio_port is not None:
        formats = [AUDIO_FORMATS[name] for name in audio_codecs]
        audio = Media("audio", audio_port, "RTP/AVP", [*formats, "101"])
        audio.lines = [
            *[("a", f"rtpmap:{AUDIO_FORMATS[name]} {name}/8000") for name in audio_codecs],
            ("a", "rtpmap:101 telephone-event/8000"),
            ("a", "fmtp:101 0-15"),
            ("a", direction),
        ]
        media.append(audio)
    if video_port is not None:
        video = Media("video", video_port, "RTP/AVP", ["96"])
        video.lines = [("a", "rtpmap:96 H264/90000")]
        if h264_fmtp:
            video.lines.append(("a", f"fmtp:96 {h264_fmtp}"))
        video.lines.append(("a", video_direction or direction))
        media.append(video)
    return SessionDescription(lines, media)


def build_answer(
    offer: SessionDescription,
    *,
    address: str,
    ports: dict[str, int],
    session_id: int = 1,
    supported: tuple[str, ...] = ("PCMA", "PCMU", "telephone-event", "H264"),
) -> SessionDescription:
    """An answer: per offered stream the codecs we support, port 0 for refused streams."""
    family = "IP6" if ":" in address else "IP4"
    lines = [
        ("v", "0"),
        ("o", f"openpss {session_id} {session_id} IN {family} {address}"),
        ("s", "openpss"),
        ("c", f"IN {family} {address}"),
        ("t", "0 0"),
    ]
    media = []
    for offered in offer.media:
        chosen = [c for c in offered.codecs if c.name in supported]
        port = ports.get(offered.kind, 0)
        if not chosen or port == 0:
            media.append(Media(offered.kind, 0, offered.proto, offered.formats[:1]))
            continue
        answer = Media(offered.kind, port, offered.proto, [str(c.payload_type) for c in chosen])
        for codec in chosen:
            answer.lines.append(
                ("a", f"rtpmap:{codec.payload_type} {codec.name}/{codec.clock_rate}")
            )
            if codec.fmtp:
                answer.lines.append(("a", f"fmtp:{codec.payload_type} {codec.fmtp}"))
        answer.lines.append(("a", _REVERSE_DIRECTION.get(offered.direction, offered.direction)))
        media.append(answer)
    return SessionDescription(lines, media)
