"""GVCP server dispatch without sockets: garbage never raises, errors become status codes."""

from __future__ import annotations

import logging
import random

import pytest

from openpss.protocols.gige_vision import gvcp
from openpss.protocols.gige_vision.gvcp import Command, Status
from openpss.protocols.gige_vision.server import GvcpServer, GvcpStatusError, Peer


class Device:
    """Registers 0x0-0xFF readable; writes allowed to 0x10 only; 0x20 raises a bug."""

    def __init__(self) -> None:
        self.regs = {0x10: 7}
        self.resends: list[gvcp.PacketResendCmd] = []
        self.seen: list[Peer] = []

    def device_info(self) -> gvcp.DeviceInfo:
        return gvcp.DeviceInfo(serial="X1")

    def read_register(self, address: int, peer: Peer) -> int:
        if address > 0xFF:
            raise GvcpStatusError(Status.BAD_ADDRESS, "no register")
        if address == 0x20:
            raise RuntimeError("device bug")
        return self.regs.get(address, 0)

    def write_register(self, address: int, value: int, peer: Peer) -> None:
        if address != 0x10:
            raise GvcpStatusError(Status.WRITE_PROTECT, "read-only")
        self.regs[address] = value

    def read_memory(self, address: int, count: int, peer: Peer) -> bytes:
        return bytes(count)

    def write_memory(self, address: int, data: bytes, peer: Peer) -> None:
        raise GvcpStatusError(Status.ACCESS_DENIED, "no")

    def packet_resend(self, command: gvcp.PacketResendCmd, peer: Peer) -> None:
        self.resends.append(command)

    def command_received(self, peer: Peer) -> None:
        self.seen.append(peer)


PEER = ("127.0.0.1", 5000)


def test_readreg_stops_at_first_failing_address() -> None:
    server = GvcpServer(Device())
    reply = server.handle(bytes(gvcp.ReadRegCmd(3, (0x10, 0x200, 0x10))), PEER)
    assert reply is not None
    ack = gvcp.ReadRegAck.parse(reply)
    assert ack.values == (7,) and ack.status == Status.BAD_ADDRESS


def test_device_bug_becomes_generic_error_status() -> None:
    reply = GvcpServer(Device()).handle(bytes(gvcp.ReadRegCmd(4, (0x20,))), PEER)
    assert reply is not None and gvcp.ReadRegAck.parse(reply).status == Status.ERROR


def test_writereg_reports_index_of_failed_write() -> None:
    device = Device()
    reply = GvcpServer(device).handle(bytes(gvcp.WriteRegCmd(5, ((0x10, 9), (0x14, 1)))), PEER)
    assert reply is not None
    ack = gvcp.IndexAck.parse(reply)
    assert (ack.index, ack.status) == (1, Status.WRITE_PROTECT) and device.regs[0x10] == 9


def test_retransmitted_request_gets_cached_ack_without_reexecution() -> None:
    device = Device()
    server = GvcpServer(device)
    first = server.handle(bytes(gvcp.WriteRegCmd(6, ((0x10, 1),))), PEER)
    device.regs[0x10] = 99
    assert server.handle(bytes(gvcp.WriteRegCmd(6, ((0x10, 1),))), PEER) == first
    assert device.regs[0x10] == 99


def test_packetresend_is_dispatched_but_never_acknowledged() -> None:
    device = Device()
    cmd = gvcp.PacketResendCmd(7, 0, 12, 3, 4)
    assert GvcpServer(device).handle(bytes(cmd), PEER) is None
    assert device.resends == [cmd]


def test_no_ack_when_not_requested() -> None:
    cmd = gvcp.ReadRegCmd(8, (0x10,), flags=0)
    assert GvcpServer(Device()).handle(bytes(cmd), PEER) is None


def test_unknown_command_is_not_implemented() -> None:
    raw = bytes.fromhex("4201 0100 0000 0009")  # ACTION_CMD
    reply = GvcpServer(Device()).handle(raw, PEER)
    assert reply is not None
    assert gvcp.GenericAck.parse(reply) == gvcp.GenericAck(
        Command.ACTION_ACK, 9, Status.NOT_IMPLEMENTED
    )


def test_server_survives_random_datagrams() -> None:
    rng = random.Random(11)
    server = GvcpServer(Device())
    for _ in range(5000):
        head = bytes([0x42, rng.choice([0, 1, 0x11])]) + rng.choice(
            [b"\x00\x80", b"\x00\x82", b"\x00\x84", b"\x00\x86", b"\x00\x40", b"\x00\x02"]
        )
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
        data = (
            head
            + bytes([0, len(body) + rng.choice([0, 0, 4, -1 if body else 0])])
            + b"\x00\x01"
            + body
        )
        server.datagram_received(data, PEER)
        server.datagram_received(body, PEER)
    reply = server.handle(bytes(gvcp.ReadRegCmd(2, (0x10,))), ("127.0.0.1", 6000))
    assert reply is not None and gvcp.ReadRegAck.parse(reply).values == (7,)


class CrashingDevice(Device):
    def command_received(self, peer: Peer) -> None:
        raise RuntimeError("device bug " + "x" * 1500)


def test_flood_of_failing_and_refused_datagrams_logs_a_few_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = GvcpServer(CrashingDevice())
    with caplog.at_level(logging.INFO, logger="openpss.protocols.gige_vision.server"):
        for n in range(2000):
            server.datagram_received(bytes(gvcp.ReadRegCmd(n % 60000 + 1, (0x10,))), PEER)
            refused = gvcp.WriteRegCmd(n % 60000 + 1, ((0x14, 1),))
            server.datagram_received(bytes(refused), ("127.0.0.1", 5001 + n))
    lines = [r for r in caplog.records if r.name == "openpss.protocols.gige_vision.server"]
    assert 2 <= len(lines) <= 4  # one per kind and interval, not 4,000
    assert all(r.exc_info is None for r in lines)  # no tracebacks at INFO and above


def test_command_0xffff_gets_a_not_implemented_ack_inside_16_bits() -> None:
    raw = bytes.fromhex("4201 ffff 0000 0021")  # odd code: no command, no acknowledge + 1
    reply = GvcpServer(Device()).handle(raw, PEER)
    assert reply is not None
    assert gvcp.GenericAck.parse(reply) == gvcp.GenericAck(0xFFFF, 0x21, Status.NOT_IMPLEMENTED)


class BrokenDevice(Device):
    def command_received(self, peer: Peer) -> None:
        raise RuntimeError("x" * 1000)


def test_failing_datagrams_log_one_short_line_per_peer(caplog: pytest.LogCaptureFixture) -> None:
    server = GvcpServer(BrokenDevice())
    raw = bytes(gvcp.ReadRegCmd(5, (0x10,)))
    with caplog.at_level(logging.WARNING, logger="openpss.protocols.gige_vision.server"):
        for _ in range(200):
            server.datagram_received(raw, ("127.0.0.9", 5000))
    lines = [r for r in caplog.records if "GVCP command" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None  # no traceback per datagram
