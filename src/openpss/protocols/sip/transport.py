"""SIP over UDP and TCP (RFC 3261 §18, RFC 3581 rport): framing, Via stamping, size caps.

``SipTransport`` binds one port on UDP and TCP, parses what arrives and hands each message to
a handler with the ``Peer`` it came from. Garbage, oversize datagrams, header floods and slow
TCP clients are dropped with a rate-limited log line; so is every message without a parsable
Via, From, To, Call-ID and CSeq, so what reaches the handler can be matched to a transaction.
An unparsable request that still names those headers is answered 400 with the reason,
statelessly. Nothing raises out of the receive path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass

from openpss.protocols.aio import within
from openpss.protocols.guards import ConnectionLimit, RateLimitedLog, ReadLimitError, read_exactly
from openpss.protocols.sip.errors import SipParseError
from openpss.protocols.sip.message import (
    MAX_MESSAGE_BYTES,
    REASONS,
    Headers,
    SipRequest,
    SipResponse,
    Via,
    parse_content_length,
    parse_message,
    split_lines_for_error,
    validate_common,
)

logger = logging.getLogger(__name__)

DEFAULT_PORT = 5060  # RFC 3261 §19.1.2
IDLE_TIMEOUT_S = 600.0  # a TCP connection silent this long is closed (our choice)
HEADER_TIMEOUT_S = 10.0  # a started message must be complete within this (slowloris)
MAX_TCP_CONNECTIONS = 1024
MAX_TCP_PER_PEER = 64
UDP_BUFFER_BYTES = 4 << 20  # socket buffers (the kernel caps them at net.core.rmem_max)


@dataclass(frozen=True)
class Peer:
    """Where a message came from or goes to."""

    transport: str  # "UDP" or "TCP"
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.transport.lower()}:{self.host}:{self.port}"


Message = SipRequest | SipResponse
Handler = Callable[[Message, Peer], None]


def response_destination(via: Via, peer: Peer) -> Peer:
    """Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4): received/rport, else sent-by."""
    host = via.params.get("received") or via.host
    rport = via.params.get("rport")
    if rport and rport.isdigit():
        port = int(rport)
    elif via.port is not None:
        port = via.port
    else:
        port = DEFAULT_PORT
    if peer.transport == "TCP":
        return peer  # the connection the request came on
    return Peer(via.transport if via.transport in ("UDP", "TCP") else "UDP", host.strip("[]"), port)


def stamp_via(request: SipRequest, peer: Peer) -> None:
    """Add received= and fill rport= on the top Via (RFC 3261 §18.2.1, RFC 3581 §4)."""
    vias = request.vias
    if not vias:
        return
    top = vias[0]
    via = Via(top.transport, top.host, top.port, dict(top.params))
    changed = False
    if "rport" in via.params and not via.params["rport"]:
        via.params["rport"] = str(peer.port)
        changed = True
    if via.host.strip("[]") != peer.host or changed:
        via.params["received"] = peer.host
        changed = True
    if changed:
        request.replace_top_via(via)


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.owner.receive(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        self.owner.log.warning("udp-error", "SIP UDP socket error: %s", exc)


class SipTransport:
    """One UDP socket and one TCP listener on the same port; ``send`` picks the right one."""

    def __init__(
        self,
        handler: Handler,
        *,
        idle_timeout: float = IDLE_TIMEOUT_S,
        header_timeout: float = HEADER_TIMEOUT_S,
        max_connections: int = MAX_TCP_CONNECTIONS,
        max_per_peer: int = MAX_TCP_PER_PEER,
    ) -> None:
        self.handler = handler
        self.idle_timeout = idle_timeout
        self.header_timeout = header_timeout
        self.log = RateLimitedLog(logger)
        self.limit = ConnectionLimit(max_connections, per_peer=max_per_peer)
        self.host = "127.0.0.1"
        self.port = 0
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.Server | None = None
        self._connections: dict[tuple[str, int], asyncio.StreamWriter] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.dropped = 0

    async def start(self, host: str, port: int, *, tcp: bool = True) -> None:
        """Bind UDP (and TCP on the same port); port 0 picks one free for both."""
        for attempt in range(20 if port == 0 else 1):
            try:
                await self._bind(host, port, tcp=tcp)
                break
            except OSError:
                if self._udp is not None:
                    self._udp.close()  # the TCP twin of a free UDP port was taken: retry
                    self._udp = None
                if attempt == (19 if port == 0 else 0):
                    raise
        logger.info("SIP listening on %s:%d (udp%s)", self.host, self.port, "+tcp" if tcp else "")

    async def _bind(self, host: str, port: int, *, tcp: bool) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpProtocol(self), local_addr=(host, port)
        )
        self._udp = transport
        sock = transport.get_extra_info("socket")
        for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
            with contextlib.suppress(OSError):  # bursts of requests wait here, not get dropped
                sock.setsockopt(socket.SOL_SOCKET, option, UDP_BUFFER_BYTES)
        self.host, self.port = transport.get_extra_info("sockname")[:2]
        if tcp:
            self._tcp_server = await asyncio.start_server(
                self._serve_tcp, host, self.port, limit=MAX_MESSAGE_BYTES + 1024
            )

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._udp is not None:
            self._udp.close()
        if self._tcp_server is not None:
            self._tcp_server.close()
        for writer in list(self._connections.values()):
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._tcp_server is not None:
            with contextlib.suppress(Exception):
                await within(self._tcp_server.wait_closed(), 1.0)

    # ---- receiving -------------------------------------------------------------------------

    def receive(self, data: bytes, peer: Peer) -> None:
        """Parse one datagram or framed TCP message and hand it on; never raises."""
        if not data.strip(b"\r\n"):
            return  # keep-alive (RFC 5626 §3.5.1)
        try:
            message = parse_message(data)
            validate_common(message)  # the transaction layer keys on Via, Call-ID and CSeq
            if isinstance(message, SipRequest):
                stamp_via(message, peer)
        except SipParseError as exc:
            self._refuse(data, peer, exc)
            return
        except Exception as exc:  # a codec bug must not take the server down
            self.dropped += 1
            if self.log.warning("bug", "SIP message from %s crashed the parser: %r", peer, exc):
                logger.debug("parser failure", exc_info=True)
            return
        try:
            self.handler(message, peer)
        except Exception as exc:
            if self.log.warning("handler", "SIP handler failed on %s: %r", peer, exc):
                logger.warning("SIP handler traceback", exc_info=True)

    def _refuse(self, data: bytes, peer: Peer, exc: SipParseError) -> None:
        self.dropped += 1
        self.log.warning(f"bad:{peer.host}", "dropped SIP message from %s: %s", peer, exc)
        if data[:4] == b"SIP/":
            return  # a bad response is dropped, never answered
        headers = split_lines_for_error(data)
        if not all(headers.get(h) for h in ("Via", "Call-ID", "CSeq", "From", "To")):
            return
        if (headers.get("CSeq") or "").split()[-1:] == ["ACK"]:
            return
        out = Headers()
        for name in ("Via", "From", "To", "Call-ID", "CSeq"):
            for value in headers.raw_all(name):
                out.add(name, value)
        reason = f"{REASONS.get(exc.status, 'Bad Request')} ({exc})"[:200]
        response = SipResponse(out, b"", exc.status, reason.replace("\r", " ").replace("\n", " "))
        self.send(response, peer)

    async def _serve_tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        peer = Peer("TCP", address[0], address[1])
        if not self.limit.acquire(peer.host):
            self.log.warning("tcp-limit", "refused SIP TCP connection from %s: too many", peer)
            writer.close()
            return
        self._connections[(peer.host, peer.port)] = writer
        try:
            await self._read_stream(reader, peer)
        finally:
            self.limit.release(peer.host)
            self._connections.pop((peer.host, peer.port), None)
            writer.close()

    async def _read_stream(self, reader: asyncio.StreamReader, peer: Peer) -> None:
        while True:
            try:
                data = await self._read_framed(reader)
            except (ReadLimitError, SipParseError, asyncio.IncompleteReadError) as exc:
                if not isinstance(exc, asyncio.IncompleteReadError) or exc.partial:
                    self.dropped += 1
                    self.log.warning(f"tcp:{peer.host}", "closed SIP TCP from %s: %s", peer, exc)
                return
            except (ConnectionError, OSError):
                return
            self.receive(data, peer)

    async def _read_framed(self, reader: asyncio.StreamReader) -> bytes:
        first = await read_exactly(reader, 1, timeout=self.idle_timeout)
        while first in (b"\r", b"\n"):  # CRLF keep-alives between messages
            first = await read_exactly(reader, 1, timeout=self.idle_timeout)
        try:
            async with asyncio.timeout(self.header_timeout):
                rest = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError as exc:
            raise ReadLimitError(f"header not complete within {self.header_timeout:g} s") from exc
        except asyncio.LimitOverrunError as exc:
            raise ReadLimitError(f"header larger than {MAX_MESSAGE_BYTES} bytes") from exc
        head = first + rest
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() in (b"content-length", b"l"):
                length = parse_content_length(value.decode("latin-1"))
        body = await read_exactly(reader, length, timeout=self.header_timeout) if length else b""
        return head + body

    # ---- sending ---------------------------------------------------------------------------

    def send(self, message: Message, peer: Peer) -> None:
        """Send to ``peer``; TCP reuses a connection or opens one in the background."""
        self.send_data(bytes(message), peer)

    def send_data(self, data: bytes, peer: Peer) -> None:
        """Send a serialized message to ``peer`` (as ``send``)."""
        if peer.transport == "TCP":
            writer = self._connections.get((peer.host, peer.port))
            if writer is not None and not writer.is_closing():
                writer.write(data)
                return
            task = asyncio.get_running_loop().create_task(self._connect_and_send(data, peer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        if self._udp is not None:
            self._udp.sendto(data, (peer.host, peer.port))

    async def _connect_and_send(self, data: bytes, peer: Peer) -> None:
        try:
            reader, writer = await within(
                asyncio.open_connection(peer.host, peer.port, limit=MAX_MESSAGE_BYTES + 1024),
                self.header_timeout,
            )
        except (OSError, TimeoutError) as exc:
            self.log.warning(f"connect:{peer}", "SIP TCP connect to %s failed: %s", peer, exc)
            return
        self._connections[(peer.host, peer.port)] = writer
        writer.write(data)
        try:
            await self._read_stream(reader, peer)
        finally:
            self._connections.pop((peer.host, peer.port), None)
            writer.close()

    def via_for(self, transport: str, branch: str) -> Via:
        """Our Via for a request we send: sent-by, branch and rport."""
        return Via(transport, self.host, self.port, {"branch": branch, "rport": None})
