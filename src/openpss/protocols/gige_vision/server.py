"""Asyncio GVCP server (device side): decodes commands, calls a device, encodes acknowledges."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from typing import Protocol

from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.errors import GigEVisionProtocolError
from openpss.protocols.gige_vision.gvcp import Command, Status
from openpss.protocols.guards import RateLimitedLog

logger = logging.getLogger(__name__)

Peer = tuple[str, int]


class GvcpDevice(Protocol):
    """What the GVCP server needs from a device. Errors carry a `gvcp_status` attribute."""

    def device_info(self) -> gvcp.DeviceInfo: ...

    def read_register(self, address: int, peer: Peer) -> int: ...

    def write_register(self, address: int, value: int, peer: Peer) -> None: ...

    def read_memory(self, address: int, count: int, peer: Peer) -> bytes: ...

    def write_memory(self, address: int, data: bytes, peer: Peer) -> None: ...

    def packet_resend(self, command: gvcp.PacketResendCmd, peer: Peer) -> None: ...

    def command_received(self, peer: Peer) -> None: ...


class GvcpStatusError(Exception):
    """A refused command; `gvcp_status` is the status code sent back."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.gvcp_status = status


def _status_of(exc: Exception) -> int:
    return int(getattr(exc, "gvcp_status", Status.ERROR))


class GvcpServer(asyncio.DatagramProtocol):
    """One GVCP socket. Never raises out of `datagram_received`: garbage is logged and dropped."""

    def __init__(self, device: GvcpDevice, *, reply_via: GvcpServer | None = None) -> None:
        self.device = device
        self.transport: asyncio.DatagramTransport | None = None
        self._reply_via = reply_via
        # Last acknowledge per peer, resent when a retransmitted request arrives (same req_id).
        self._last_ack: OrderedDict[Peer, tuple[int, bytes]] = OrderedDict()
        self.malformed = 0
        # A flood of bad datagrams logs one line per kind and interval, never one each.
        self._log = RateLimitedLog(logger)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Peer) -> None:
        """Answer one command datagram."""
        try:
            reply = self.handle(data, addr)
        except Exception as exc:  # a device bug must not take the server down
            self._log.warning("failed", "GVCP command from %s failed: %.200r", addr, exc)
            logger.debug("GVCP command from %s failed", addr, exc_info=True)
            return
        if reply is not None:
            self._send(reply, addr)

    def _send(self, reply: bytes, addr: Peer) -> None:
        target = self._reply_via or self
        if target.transport is not None:
            target.transport.sendto(reply, addr)

    def handle(self, data: bytes, peer: Peer) -> bytes | None:
        """The acknowledge for one command (None when no acknowledge is due)."""
        try:
            flags, code, req_id, _ = gvcp.split_command(data)
        except GigEVisionProtocolError as exc:
            self.malformed += 1
            logger.debug("dropping malformed GVCP datagram from %s: %s", peer, exc)
            return None
        if self._reply_via is not None and code != Command.DISCOVERY:
            return None  # the broadcast socket answers discovery only
        cached = self._last_ack.get(peer)
        if cached is not None and cached[0] == req_id and req_id != 0 and code != Command.DISCOVERY:
            return cached[1]
        reply = self._dispatch(code, data, peer, req_id)
        if code != Command.DISCOVERY:
            self.device.command_received(peer)
        if reply is None or not flags & gvcp.FLAG_ACK_REQUIRED:
            return None
        self._remember(peer, req_id, reply)
        return reply

    def _remember(self, peer: Peer, req_id: int, reply: bytes) -> None:
        self._last_ack[peer] = (req_id, reply)
        self._last_ack.move_to_end(peer)
        while len(self._last_ack) > 64:
            self._last_ack.popitem(last=False)

    def _dispatch(self, code: int, data: bytes, peer: Peer, req_id: int) -> bytes | None:
        handlers = {
            Command.DISCOVERY: self._discovery,
            Command.READREG: self._readreg,
            Command.WRITEREG: self._writereg,
            Command.READMEM: self._readmem,
            Command.WRITEMEM: self._writemem,
            Command.PACKETRESEND: self._packetresend,
        }
        handler = handlers.get(Command(code)) if code in Command.__members__.values() else None
        if handler is None:
            return gvcp.error_ack(code, req_id, Status.NOT_IMPLEMENTED)
        try:
            return handler(data, peer)
        except ValueError as exc:
            logger.debug("bad GVCP 0x%04x from %s: %s", code, peer, exc)
            return gvcp.error_ack(code, req_id, Status.INVALID_PARAMETER)

    def _discovery(self, data: bytes, peer: Peer) -> bytes:
        cmd = gvcp.DiscoveryCmd.parse(data)
        return bytes(gvcp.DiscoveryAck(cmd.req_id, self.device.device_info()))

    def _readreg(self, data: bytes, peer: Peer) -> bytes:
        cmd = gvcp.ReadRegCmd.parse(data)
        values: list[int] = []
        for address in cmd.addresses:
            try:
                values.append(self.device.read_register(address, peer) & 0xFFFFFFFF)
            except Exception as exc:
                logger.debug("READREG 0x%08x refused: %s", address, exc)
                return bytes(gvcp.ReadRegAck(cmd.req_id, tuple(values), _status_of(exc)))
        return bytes(gvcp.ReadRegAck(cmd.req_id, tuple(values)))

    def _writereg(self, data: bytes, peer: Peer) -> bytes:
        cmd = gvcp.WriteRegCmd.parse(data)
        for index, (address, value) in enumerate(cmd.writes):
            try:
                self.device.write_register(address, value, peer)
            except Exception as exc:
                self._log.info("writereg", "WRITEREG 0x%08x=0x%x refused: %s", address, value, exc)
                return bytes(
                    gvcp.IndexAck(Command.WRITEREG_ACK, cmd.req_id, index, _status_of(exc))
                )
        return bytes(gvcp.IndexAck(Command.WRITEREG_ACK, cmd.req_id, len(cmd.writes)))

    def _readmem(self, data: bytes, peer: Peer) -> bytes:
        cmd = gvcp.ReadMemCmd.parse(data)
        if cmd.count % 4 or cmd.address % 4:
            return gvcp.error_ack(Command.READMEM, cmd.req_id, Status.BAD_ALIGNMENT)
        if not 0 < cmd.count <= gvcp.MAX_MEMORY_DATA:
            return gvcp.error_ack(Command.READMEM, cmd.req_id, Status.INVALID_PARAMETER)
        try:
            chunk = self.device.read_memory(cmd.address, cmd.count, peer)
        except Exception as exc:
            logger.debug("READMEM 0x%08x+%d refused: %s", cmd.address, cmd.count, exc)
            return gvcp.error_ack(Command.READMEM, cmd.req_id, _status_of(exc))
        return bytes(gvcp.ReadMemAck(cmd.req_id, cmd.address, chunk))

    def _writemem(self, data: bytes, peer: Peer) -> bytes:
        cmd = gvcp.WriteMemCmd.parse(data)
        if cmd.address % 4:
            return gvcp.error_ack(Command.WRITEMEM, cmd.req_id, Status.BAD_ALIGNMENT)
        try:
            self.device.write_memory(cmd.address, cmd.data, peer)
        except Exception as exc:
            self._log.info("writemem", "WRITEMEM 0x%08x refused: %s", cmd.address, exc)
            return bytes(gvcp.IndexAck(Command.WRITEMEM_ACK, cmd.req_id, 0, _status_of(exc)))
        return bytes(gvcp.IndexAck(Command.WRITEMEM_ACK, cmd.req_id, len(cmd.data)))

    def _packetresend(self, data: bytes, peer: Peer) -> None:
        self.device.packet_resend(gvcp.PacketResendCmd.parse(data), peer)
        return None  # GigE Vision 2.0 §16.7: PACKETRESEND is never acknowledged


async def start_server(
    device: GvcpDevice, host: str, port: int = gvcp.GVCP_PORT, broadcast: str | None = None
) -> tuple[GvcpServer, list[asyncio.DatagramTransport]]:
    """Bind the GVCP socket (and a discovery socket on the broadcast address, if given)."""
    loop = asyncio.get_running_loop()
    transport, server = await loop.create_datagram_endpoint(
        lambda: GvcpServer(device), local_addr=(host, port)
    )
    transports = [transport]
    if broadcast:
        try:
            extra, _ = await loop.create_datagram_endpoint(
                lambda: GvcpServer(device, reply_via=server),
                local_addr=(broadcast, port),
                reuse_port=True,
            )
            transports.append(extra)
        except OSError as exc:
            logger.warning("no discovery socket on %s:%d: %s", broadcast, port, exc)
    return server, transports
