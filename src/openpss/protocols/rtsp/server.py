"""Asyncio RTSP 1.0 server (RFC 2326) for live streams that are encoded once and shared.

A backend gives the stream for a path (``/cam/realmonitor?channel=1&subtype=0``) and the
credentials; each stream pushes ready RTP/RTCP packets to every playing session's sink, so N
viewers cost one encoder. Transports: interleaved TCP (``$`` framing, RFC 2326 §10.12) and
UDP unicast. At most ``max_streams`` sessions at once: the next SETUP is answered ``453 Not
Enough Bandwidth``. Digest auth (qop=auth, realm ``Login to <serial>``) on everything but
OPTIONS. Defences: connection cap, head/body size caps, read deadlines, session time-out,
a viewer whose TCP send buffer overflows is dropped, rate-limited logging.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

from openpss.protocols.dahua_http.codec import DahuaProtocolError
from openpss.protocols.dahua_http.digest import (
    DigestCredentials,
    NonceBook,
    NonceStatus,
    build_challenge,
)
from openpss.protocols.guards import (
    ConnectionLimit,
    RateLimitedLog,
    ReadLimitError,
    read_exactly,
    read_until,
)
from openpss.protocols.rtsp.codec import (
    MAX_HEADER_BYTES,
    RtspError,
    RtspRequest,
    RtspResponse,
    SdpTrack,
    Transport,
    build_sdp,
)

logger = logging.getLogger(__name__)
rate_log = RateLimitedLog(logger)

SESSION_TIMEOUT_S = 60  # announced as Session: id;timeout=60 (RFC 2326 §12.37)
HEAD_TIMEOUT_S = 10.0  # ours: the rest of a request once it started
MAX_CONNECTIONS, MAX_PER_PEER = 32, 16  # ours
MAX_SEND_BUFFER = 8 * 1024 * 1024  # ours: a viewer this far behind is dropped
METHODS = "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER, SET_PARAMETER"

Sink = Callable[[int, bytes, bool], None]  # (track index, packet, is_rtcp)


class MediaStream(Protocol):
    """A live stream: its tracks and the sinks receiving its packets."""

    tracks: list[SdpTrack]
    name: str

    def add_sink(self, sink: Sink) -> None:
        """Start sending packets to ``sink``."""

    def remove_sink(self, sink: Sink) -> None:
        """Stop sending to ``sink``."""

    def rtp_info(self, track: int) -> tuple[int, int]:
        """(next sequence number, current RTP timestamp) of a track."""


class RtspBackend(Protocol):
    """What the server needs from a device."""

    realm: str

    def ha1_for(self, user: str) -> str | None:
        """HA1 of a user (MD5 of user:realm:password), or None."""

    def stream(self, path: str, query: dict[str, str]) -> MediaStream:
        """The stream for a URL, or ``RtspError(..., 404)``."""


class _UdpSender(asyncio.DatagramProtocol):
    transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """RTCP receiver reports from the viewer: nothing to do but accept them."""


@dataclass(eq=False)
class _Session:
    session_id: str
    stream: MediaStream
    writer: asyncio.StreamWriter
    peer: str
    tracks: dict[int, Transport] = field(default_factory=dict)
    udp: dict[int, tuple[_UdpSender, _UdpSender]] = field(default_factory=dict)
    playing: bool = False
    last_seen: float = field(default_factory=time.monotonic)
    sent_packets: int = 0
    closed: bool = False

    def sink(self, track: int, data: bytes, rtcp: bool) -> None:
        """Send one packet to this viewer over its transport."""
        transport = self.tracks.get(track)
        if transport is None or self.closed:
            return
        if transport.tcp:
            assert transport.channels is not None
            channel = transport.channels[1 if rtcp else 0]
            if self.writer.transport.get_write_buffer_size() > MAX_SEND_BUFFER:
                rate_log.warning("slow:" + self.peer, "RTSP viewer %s too slow: dropped", self.peer)
                self.closed = True
                self.writer.close()
                return
            self.writer.write(b"$" + bytes([channel]) + len(data).to_bytes(2, "big") + data)
        else:
            assert transport.client_ports is not None
            rtp, rtcp_sender = self.udp[track]
            sender = rtcp_sender if rtcp else rtp
            port = transport.client_ports[1 if rtcp else 0]
            if sender.transport is not None:
                sender.transport.sendto(data, (self.peer, port))
        if not rtcp:
            self.sent_packets += 1


class RtspServer:
    """Serves a backend's streams."""

    def __init__(
        self,
        backend: RtspBackend,
        *,
        max_streams: int,
        limit: ConnectionLimit | None = None,
        nonces: NonceBook | None = None,
    ) -> None:
        self.backend = backend
        self.max_streams = max_streams
        self.limit = limit or ConnectionLimit(MAX_CONNECTIONS, per_peer=MAX_PER_PEER)
        self.nonces = nonces or NonceBook()
        self.sessions: dict[str, _Session] = {}
        self.server: asyncio.Server | None = None
        self.refused_streams = 0
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The bound TCP port."""
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> RtspServer:
        """Listen."""
        self.server = await asyncio.start_server(self._serve, host, port)
        self._sweeper = asyncio.create_task(self._sweep())
        return self

    async def close(self) -> None:
        """Stop listening, end every session."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for session in list(self.sessions.values()):
            self._end(session)
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(5)
            now = time.monotonic()
            for session in list(self.sessions.values()):
                tcp = any(t.tcp for t in session.tracks.values())
                if session.closed or (not tcp and now - session.last_seen > SESSION_TIMEOUT_S):
                    self._end(session)

    def _end(self, session: _Session) -> None:
        session.closed = True
        session.stream.remove_sink(session.sink)
        for rtp, rtcp in session.udp.values():
            for sender in (rtp, rtcp):
                if sender.transport is not None:
                    sender.transport.close()
        self.sessions.pop(session.session_id, None)

    # --- connections ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        peer = str(address[0]) if address else "?"
        if not self.limit.acquire(peer):
            rate_log.warning("cap:" + peer, "RTSP connection from %s refused: too many", peer)
            writer.close()
            return
        owned: list[_Session] = []
        try:
            await self._read_loop(reader, writer, peer, owned)
        except (ReadLimitError, RtspError) as exc:
            rate_log.warning("bad:" + peer, "RTSP connection from %s dropped: %s", peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            for session in owned:
                if any(t.tcp for t in session.tracks.values()) or not session.tracks:
                    self._end(session)
            self.limit.release(peer)
            writer.close()

    async def _read_loop(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
        owned: list[_Session],
    ) -> None:
        while True:
            streaming = any(s.playing and not s.closed for s in owned)
            idle = None if streaming else float(SESSION_TIMEOUT_S)
            first = await _read_first(reader, idle)
            if first == b"$":  # interleaved RTCP from the viewer (receiver reports)
                header = await read_exactly(reader, 3, timeout=HEAD_TIMEOUT_S)
                await read_exactly(
                    reader, int.from_bytes(header[1:], "big"), timeout=HEAD_TIMEOUT_S
                )
                for session in owned:
                    session.last_seen = time.monotonic()
                continue
            head = first + await read_until(
                reader, b"\r\n\r\n", limit=MAX_HEADER_BYTES, timeout=HEAD_TIMEOUT_S
            )
            try:
                request = RtspRequest.parse_head(head[:-4])
                request.body = await read_exactly(
                    reader, request.content_length(), timeout=HEAD_TIMEOUT_S
                )
            except RtspError as exc:
                writer.write(bytes(RtspResponse(exc.status, "0")))
                raise
            response = await self._answer(request, writer, peer, owned)
            writer.write(bytes(response))
            await writer.drain()

    async def _answer(
        self,
        request: RtspRequest,
        writer: asyncio.StreamWriter,
        peer: str,
        owned: list[_Session],
    ) -> RtspResponse:
        try:
            if request.method == "OPTIONS":
                return RtspResponse(200, request.cseq, {"Public": METHODS})
            denied = self._check_auth(request)
            if denied is not None:
                return denied
            return await self._dispatch(request, writer, peer, owned)
        except RtspError as exc:
            return RtspResponse(exc.status, request.cseq, {}, str(exc).encode())

    def _check_auth(self, request: RtspRequest) -> RtspResponse | None:
        header = request.header("authorization")
        stale = False
        if header.lower().startswith("digest "):
            try:
                credentials = DigestCredentials.parse(header)
            except DahuaProtocolError:
                credentials = None
            if credentials is not None:
                ha1 = self.backend.ha1_for(credentials.username)
                right = (
                    ha1 is not None
                    and credentials.realm == self.backend.realm
                    and credentials.matches(ha1=ha1, method=request.method)
                )
                if right:
                    status = self.nonces.use(credentials.nonce, credentials.nc)
                    if status is NonceStatus.fresh:
                        return None
                    stale = status is NonceStatus.stale
        challenge = build_challenge(
            self.backend.realm, self.nonces.issue(), self.nonces.opaque, stale=stale
        )
        return RtspResponse(401, request.cseq, {"WWW-Authenticate": challenge})

    async def _dispatch(
        self,
        request: RtspRequest,
        writer: asyncio.StreamWriter,
        peer: str,
        owned: list[_Session],
    ) -> RtspResponse:
        method, cseq = request.method, request.cseq
        if method == "DESCRIBE":
            return self._describe(request)
        if method == "SETUP":
            return await self._setup(request, writer, peer, owned)
        session = self._session_of(request)
        session.last_seen = time.monotonic()
        if method == "PLAY":
            return self._play(request, session)
        if method == "TEARDOWN":
            self._end(session)
            return RtspResponse(200, cseq, {"Session": session.session_id})
        if method in ("GET_PARAMETER", "SET_PARAMETER"):
            return RtspResponse(200, cseq, {"Session": session.session_id})
        raise RtspError(f"method {method[:20]} is not implemented", 501)

    def _session_of(self, request: RtspRequest) -> _Session:
        session_id = request.header("session").split(";")[0].strip()
        session = self.sessions.get(session_id)
        if session is None:
            raise RtspError("session not found: SETUP first", 454)
        return session

    def _describe(self, request: RtspRequest) -> RtspResponse:
        stream = self._stream_for(request.uri)[0]
        host = urlsplit(request.uri).hostname or "0.0.0.0"
        sdp = build_sdp(
            session_id=secrets.randbelow(10**9), host=host, name=stream.name, tracks=stream.tracks
        )
        headers = {"Content-Type": "application/sdp", "Content-Base": request.uri.rstrip("/") + "/"}
        return RtspResponse(200, request.cseq, headers, sdp.encode())

    def _stream_for(self, uri: str) -> tuple[MediaStream, int | None]:
        parts = urlsplit(uri)
        path, query, track = parts.path, parts.query, None
        for holder in ("query", "path"):
            text = query if holder == "query" else path
            head, sep, tail = text.rpartition("/trackID=")
            if sep and tail.isdigit():
                track = int(tail)
                if holder == "query":
                    query = head
                else:
                    path = head
                break
        stream = self.backend.stream(path.rstrip("/"), dict(parse_qsl(query.rstrip("/"))))
        if track is not None and not 0 <= track < len(stream.tracks):
            raise RtspError(f"track {track} does not exist", 404)
        return stream, track

    async def _setup(
        self,
        request: RtspRequest,
        writer: asyncio.StreamWriter,
        peer: str,
        owned: list[_Session],
    ) -> RtspResponse:
        stream, track = self._stream_for(request.uri)
        track = 0 if track is None else track
        transport = Transport.parse(request.header("transport"))
        session_id = request.header("session").split(";")[0].strip()
        if session_id:
            session = self._session_of(request)
            if session.stream is not stream:
                raise RtspError("a session plays one stream; SETUP without Session", 459)
        else:
            if len(self.sessions) >= self.max_streams:
                self.refused_streams += 1
                rate_log.info("full", "RTSP stream refused: %d streams already", self.max_streams)
                raise RtspError(
                    f"at most {self.max_streams} streams at once; stop a viewer first", 453
                )
            session = _Session(secrets.token_hex(8), stream, writer, peer)
            self.sessions[session.session_id] = session
            owned.append(session)
        session.tracks[track] = transport
        reply = "RTP/AVP/TCP;unicast;interleaved={}-{}"
        if transport.tcp:
            assert transport.channels is not None
            answer = reply.format(*transport.channels)
        else:
            answer = await self._open_udp(session, track, transport)
        headers = {
            "Transport": answer,
            "Session": f"{session.session_id};timeout={SESSION_TIMEOUT_S}",
        }
        return RtspResponse(200, request.cseq, headers)

    async def _open_udp(self, session: _Session, track: int, transport: Transport) -> str:
        loop = asyncio.get_running_loop()
        host = session.writer.get_extra_info("sockname")[0]
        senders = []
        for _ in range(2):
            _, protocol = await loop.create_datagram_endpoint(_UdpSender, local_addr=(host, 0))
            senders.append(protocol)
        session.udp[track] = (senders[0], senders[1])
        ports = [s.transport.get_extra_info("sockname")[1] for s in senders if s.transport]
        assert transport.client_ports is not None
        client = "{}-{}".format(*transport.client_ports)
        return f"RTP/AVP;unicast;client_port={client};server_port={ports[0]}-{ports[1]}"

    def _play(self, request: RtspRequest, session: _Session) -> RtspResponse:
        if not session.tracks:
            raise RtspError("SETUP a track before PLAY", 455)
        base = request.uri.rstrip("/")
        infos = []
        for track in sorted(session.tracks):
            seq, rtptime = session.stream.rtp_info(track)
            infos.append(f"url={base}/trackID={track};seq={seq};rtptime={rtptime}")
        if not session.playing:
            session.playing = True
            session.stream.add_sink(session.sink)
        headers = {
            "Session": session.session_id,
            "Range": "npt=0.000-",
            "RTP-Info": ",".join(infos),
        }
        return RtspResponse(200, request.cseq, headers)


async def _read_first(reader: asyncio.StreamReader, timeout: float | None) -> bytes:
    if timeout is None:
        data = await reader.readexactly(1)
    else:
        data = await read_exactly(reader, 1, timeout=timeout)
    return data
