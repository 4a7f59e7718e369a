"""RTP over UDP on asyncio: local ports that hand every RTP packet (RTCP is left out) to a
callback, one port per media kind."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from openpss.protocols.rtp.codec import is_rtcp

PacketHandler = Callable[[bytes], None]


class RtpPort(asyncio.DatagramProtocol):
    """One bound UDP port; RTP packets go to ``on_packet``."""

    def __init__(self, on_packet: PacketHandler) -> None:
        self.on_packet = on_packet
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not is_rtcp(data):
            self.on_packet(data)

    @property
    def port(self) -> int:
        """The bound port."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        """Release the port."""
        if self.transport is not None:
            self.transport.close()


async def open_rtp_ports(host: str, handlers: Mapping[str, PacketHandler]) -> dict[str, RtpPort]:
    """A free port on ``host`` per kind (``audio``, ``video``), each with its handler."""
    loop = asyncio.get_running_loop()
    ports = {}
    for kind, handler in handlers.items():
        _, port = await loop.create_datagram_endpoint(
            lambda h=handler: RtpPort(h),  # type: ignore[misc]
            local_addr=(host, 0),
        )
        ports[kind] = port
    return ports
