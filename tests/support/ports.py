"""Free loopback ports for tests that start servers in other processes.

A port that a test picks and a child process binds later can be taken in between. Ports the
kernel hands out with ``bind(port 0)`` come from its ephemeral range, the same range every
outgoing connection and every client UDP socket on the machine draws its source port from: a
device's HTTP poll or a SIP client socket can land on the port before the child binds it (a
demo run failed that way in CI). So the ports here come from outside the ephemeral range, are
checked free for TCP and UDP, and are never handed out twice in one test session.
"""

from __future__ import annotations

import functools
import random
import socket
from pathlib import Path

FIRST, LAST = 20000, 65535  # below 20000: well-known and registered services
_given: set[int] = set()
_random = random.Random()


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # the Linux default


@functools.cache
def _candidates() -> tuple[list[int], frozenset[int]]:
    """The ports to pick from, as a list (to choose) and a set (to test)."""
    low, high = _ephemeral_range()
    outside = [p for p in range(FIRST, LAST + 1) if not low <= p <= high]
    ports = outside or list(range(FIRST, LAST + 1))
    return ports, frozenset(ports)


def _free(port: int) -> bool:
    """True when ``port`` binds on 127.0.0.1 for both TCP and UDP right now."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_ports(count: int = 1) -> int:
    """The first of ``count`` consecutive ports, each free for TCP and UDP on 127.0.0.1 and
    not handed out before in this session (a device that listens on ``port`` and ``port + 1``
    takes a run of two)."""
    candidates, allowed = _candidates()
    for _ in range(2000):
        run = range(first := _random.choice(candidates), first + count)
        if allowed.issuperset(run) and not _given.intersection(run) and all(map(_free, run)):
            _given.update(run)
            return first
    raise RuntimeError(f"no run of {count} free loopback ports outside the ephemeral range")


def free_port() -> int:
    """One port free for TCP and UDP on 127.0.0.1, outside the kernel's ephemeral range."""
    return free_ports(1)
