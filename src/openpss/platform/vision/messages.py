"""Message channel receiver (application side): device EVENT / EVENTDATA commands, acknowledged."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from openpss.protocols.gige_vision import gvcp

logger = logging.getLogger(__name__)

MCP = 0x0B00  # GigE Vision 2.0 bootstrap: message channel port
MCDA = 0x0B10  # GigE Vision 2.0 bootstrap: message channel destination address
EventHandler = Callable[[int, int, int], None]  # event id, timestamp, block id


class MessageListener:
    """Binds a UDP socket, points the camera's message channel at it and acknowledges events."""

    def __init__(self, client: Any, on_event: EventHandler) -> None:
        host = client.local_address[0]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.on_event = on_event
        self._stop = threading.Event()
        client.write_register(MCDA, int.from_bytes(socket.inet_aton(host), "big"))
        client.write_register(MCP, self.sock.getsockname()[1])
        self._client = client
        self._thread = threading.Thread(target=self._run, daemon=True, name="vision-events")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            self._handle(data, peer)

    def _handle(self, data: bytes, peer: tuple[str, int]) -> None:
        try:
            _flags, code, req_id, _payload = gvcp.split_command(data)
            if code == gvcp.Command.EVENT:
                items = list(gvcp.EventCmd.parse(data).events)
            elif code == gvcp.Command.EVENTDATA:
                items = [gvcp.EventDataCmd.parse(data).event]
            else:
                return
        except ValueError as exc:
            logger.debug("ignored a malformed message-channel packet: %s", exc)
            return
        ack = gvcp.GenericAck(gvcp.answer_for(code), req_id)
        with contextlib.suppress(OSError):
            self.sock.sendto(bytes(ack), peer)
        for item in items:
            self.on_event(item.event_id, item.timestamp, item.block_id)

    def close(self) -> None:
        """Stop listening; the camera's message channel is switched off first (best effort)."""
        with contextlib.suppress(Exception):
            self._client.write_register(MCP, 0)
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
