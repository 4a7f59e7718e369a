"""Bells, the NTP client (against a tiny NTP server on 127.0.0.1) and the system self-check."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import struct
from typing import Any

import pytest

from openpss.devices.attendance.model import Terminal, TerminalError
from openpss.devices.attendance.services import (
    NTP_EPOCH_OFFSET,
    DeviceServices,
    parse_sntp_reply,
    sntp_request,
)
from openpss.devices.attendance.settings import Bell

SERVER_TIME = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def make_terminal(clock: Clock) -> tuple[Terminal, list[tuple[str, dict[str, Any]]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    terminal = Terminal(serial="S", clock=clock, on_event=lambda c, d: events.append((c, d)))
    return terminal, events


def test_bells_ring_on_their_time_and_cycle(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(dt.datetime(2026, 3, 2, 7, 59, 30, tzinfo=dt.UTC))  # a Monday
    terminal, events = make_terminal(clock)

    def bells(s: Any) -> None:
        s.bells[0] = Bell("08:00", "EveryDay", 5)
        s.bells[1] = Bell("08:00", "Tuesday", 5)
        s.bells[2] = Bell("08:00", "Monday", 0)  # duration 0: off

    terminal.update_settings(bells)
    services = DeviceServices(terminal)
    assert services.tick() == []
    clock.at += dt.timedelta(seconds=30)
    with caplog.at_level(logging.INFO):
        assert services.tick() == [1]
    assert services.tick() == []  # once per minute
    assert events == [("BellRing", {"Index": 1, "Duration": 5, "Time": "08:00"})]
    assert "bell 1 rings for 5 s" in caplog.text


def test_sntp_codec() -> None:
    assert sntp_request()[0] == 0x23 and len(sntp_request()) == 48
    with pytest.raises(TerminalError, match="NTP reply is 10 bytes"):
        parse_sntp_reply(bytes(10))
    with pytest.raises(TerminalError, match="not in server mode"):
        parse_sntp_reply(bytes(48))


class TinyNtpServer(asyncio.DatagramProtocol):
    """Answers every request with SERVER_TIME."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        seconds = int(SERVER_TIME.timestamp()) + NTP_EPOCH_OFFSET
        reply = bytes([0x24, 1, 0, 0]) + bytes(36) + struct.pack("!II", seconds, 0)
        self.transport.sendto(reply, addr)


async def test_ntp_client_sets_the_clock() -> None:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(TinyNtpServer, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        terminal, events = make_terminal(Clock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))

        def ntp(s: Any) -> None:
            s.ntp.enabled, s.ntp.address, s.ntp.port = True, "127.0.0.1", port

        terminal.update_settings(ntp)
        services = DeviceServices(terminal)
        assert services._ntp_due()
        assert await services.sync_ntp() is True
        assert not services._ntp_due()
        assert terminal.now_utc() == SERVER_TIME
        assert events[-1][0] == "NTPAdjustTime"
    finally:
        transport.close()


async def test_ntp_without_answer_keeps_the_clock() -> None:
    terminal, _ = make_terminal(Clock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))

    def ntp(s: Any) -> None:
        s.ntp.enabled, s.ntp.address, s.ntp.port = True, "127.0.0.1", 9  # discard port

    terminal.update_settings(ntp)
    assert await DeviceServices(terminal).sync_ntp() is False
    assert terminal.clock_offset_s == 0


def test_ntp_enabled_needs_a_server() -> None:
    terminal, _ = make_terminal(Clock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    with pytest.raises(TerminalError, match="NTP is enabled but has no server IP"):
        terminal.update_settings(lambda s: setattr(s.ntp, "enabled", True))


def test_self_check_items() -> None:
    terminal, _ = make_terminal(Clock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    services = DeviceServices(terminal)
    assert services.self_check("Auto") == dict.fromkeys(
        ["FP", "Display", "Voice", "Key", "USB"], "OK"
    )
    assert services.self_check("USB") == {"USB": "OK"}
    with pytest.raises(TerminalError, match="self-check item must be Auto or one of"):
        services.self_check("Face")
