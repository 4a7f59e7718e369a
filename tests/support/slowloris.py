"""Slowloris connections: requests that stop half-way, and polling until the server closes them."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

HALF_HEAD = b"GET /cgi-bin/magicBox.cgi?action=getSerialNo HTTP/1.1\r\nHost: x\r\nX-Slow: "


@contextmanager
def half_sent(port: int, count: int, source: str, data: bytes) -> Iterator[list[socket.socket]]:
    """``count`` connections from ``source`` (another loopback address) that stop mid-request."""
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((source, 0))
            sock.settimeout(5)
            try:
                sock.connect(("127.0.0.1", port))
                sock.sendall(data)
            except OSError:
                sock.close()
                continue
            sock.setblocking(False)
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closed (or reset) the connection."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except OSError:
        return True


def wait_closed(sockets: list[socket.socket], *, expected: int, deadline_s: float) -> int:
    """Poll (bounded) until ``expected`` sockets are closed by the server; how many are."""
    closed: set[int] = set()
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        closed |= {i for i, s in enumerate(sockets) if i not in closed and closed_by_server(s)}
        if len(closed) >= expected:
            break
        time.sleep(0.05)
    return len(closed)
