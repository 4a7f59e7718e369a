"""Message channel: device-side sender (acknowledge and retry) and the application receiver."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from openpss.protocols.aio import within
from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.bootstrap import MCDA, MCP
from openpss.protocols.gige_vision.errors import GigEVisionProtocolError
from openpss.protocols.gige_vision.gvcp import Command

logger = logging.getLogger(__name__)


class MessageChannelSender(asyncio.DatagramProtocol):
    """Sends device events to the message channel destination and waits for their acknowledge."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self._req_id = 0
        self._pending: dict[int, asyncio.Future[int]] = {}
        self.sent = 0
        self.unacknowledged = 0

    @classmethod
    async def open(cls, host: str) -> MessageChannelSender:
        """Bind the sender on `host` (ephemeral port)."""
        loop = asyncio.get_running_loop()
        _, sender = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        return sender

    @property
    def source_port(self) -> int:
        """UDP source port of the message channel."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Match an EVENT_ACK / EVENTDATA_ACK to its pending command."""
        try:
            ack = gvcp.GenericAck.parse(data)
        except GigEVisionProtocolError:
            return
        future = self._pending.get(ack.ack_id)
        if future is not None and not future.done():
            future.set_result(ack.status)

    def _next_id(self) -> int:
        self._req_id = self._req_id % 0xFFFF + 1
        return self._req_id

    async def send(
        self,
        destination: tuple[str, int],
        event: gvcp.EventItem,
        data: bytes = b"",
        *,
        timeout_ms: int = 300,
        retries: int = 2,
    ) -> bool:
        """Send one event (EVENTDATA when it has data); True when the client acknowledged it."""
        if self.transport is None:
            return False
        req_id = self._next_id()
        packet: gvcp.EventCmd | gvcp.EventDataCmd
        if data:
            packet = gvcp.EventDataCmd(req_id, event, data[: gvcp.MAX_PAYLOAD - 16])
        else:
            packet = gvcp.EventCmd(req_id, (event,))
        raw = bytes(packet)
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = future
        try:
            for _ in range(retries + 1):
                self.transport.sendto(raw, destination)
                self.sent += 1
                with contextlib.suppress(asyncio.TimeoutError):
                    await within(asyncio.shield(future), max(timeout_ms, 10) / 1000)
                    return True
        finally:
            self._pending.pop(req_id, None)
        self.unacknowledged += 1
        logger.debug("event 0x%04x not acknowledged by %s", event.event_id, destination)
        return False


EventHandler = Callable[[gvcp.EventItem, bytes], None]


class MessageChannelReceiver:
    """Application side: receive EVENT / EVENTDATA on a UDP socket and acknowledge each one.

    The one receiver of the project: the CLI polls `receive`, the platform `listen`s on a
    thread. `attach` points the camera's message channel at the socket (MCDA, then MCP).
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.host, self.port = host, int(self.sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: Any = None

    def attach(self, client: Any) -> None:
        """Make `client`'s camera send its events here (GigE Vision 2.0 §28.45-28.46)."""
        client.write_register(MCDA, int.from_bytes(socket.inet_aton(self.host), "big"))
        client.write_register(MCP, self.port)
        self._client = client

    def receive(self, timeout: float) -> list[tuple[gvcp.EventItem, bytes]]:
        """Events of the next datagram (acknowledged), or [] after `timeout` seconds."""
        self.sock.settimeout(timeout)
        try:
            data, peer = self.sock.recvfrom(2048)
        except TimeoutError:
            return []
        try:
            _, code, req_id, _ = gvcp.split_command(data)
            if code == Command.EVENT:
                items = [(event, b"") for event in gvcp.EventCmd.parse(data).events]
            elif code == Command.EVENTDATA:
                parsed = gvcp.EventDataCmd.parse(data)
                items = [(parsed.event, parsed.data)]
            else:
                return []
        except GigEVisionProtocolError as exc:
            logger.debug("ignoring malformed message channel datagram: %s", exc)
            return []
        with contextlib.suppress(OSError):
            self.sock.sendto(bytes(gvcp.GenericAck(gvcp.answer_for(code), req_id)), peer)
        return items

    def listen(self, on_event: EventHandler) -> None:
        """Receive on a daemon thread, calling `on_event(item, data)` for each event."""
        self._thread = threading.Thread(
            target=self._run, args=(on_event,), daemon=True, name="gige-messages"
        )
        self._thread.start()

    def _run(self, on_event: EventHandler) -> None:
        while not self._stop.is_set():
            try:
                items = self.receive(0.2)
            except OSError:
                return
            for item, data in items:
                on_event(item, data)

    def close(self) -> None:
        """Switch the camera's message channel off (best effort), stop and close the socket."""
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.write_register(MCP, 0)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.sock.close()
