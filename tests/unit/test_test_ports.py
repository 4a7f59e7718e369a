"""The tests' free-port helper: ports outside the kernel's ephemeral range, free for TCP and UDP,
never handed out twice (a port a child process binds later must not be anyone's source port)."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import pytest

from tests.support import ports
from tests.support.ports import _ephemeral_range, free_port, free_ports


def test_runs_are_free_outside_the_ephemeral_range_and_never_repeat() -> None:
    low, high = _ephemeral_range()
    seen: set[int] = set()
    for _ in range(20):
        first = free_ports(3)
        run = {first, first + 1, first + 2}
        assert not run & seen
        seen |= run
        for port in run:
            assert not low <= port <= high
            for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                with socket.socket(socket.AF_INET, kind) as sock:
                    sock.bind(("127.0.0.1", port))


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    first = free_ports(2)
    monkeypatch.setattr(ports, "_given", set())  # both may be offered again
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", first))  # taken for UDP only: not free either
        offers = iter([first, first + 1])
        monkeypatch.setattr(ports, "_random", SimpleNamespace(choice=lambda _: next(offers)))
        assert free_port() == first + 1
