"""A bare UDP socket on loopback standing in for a remote protocol peer in tests."""

from __future__ import annotations

import asyncio
import socket

from openpss.protocols.aio import within


class RawUdp:
    """A bare UDP socket standing in for a remote SIP element."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.port = self.sock.getsockname()[1]

    async def recv(self, timeout: float = 2.0) -> bytes | None:
        loop = asyncio.get_running_loop()
        try:
            return await within(loop.sock_recv(self.sock, 65536), timeout)
        except TimeoutError:
            return None

    def send(self, data: bytes, port: int) -> None:
        self.sock.sendto(data, ("127.0.0.1", port))
