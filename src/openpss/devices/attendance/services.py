"""Background work of the running terminal: bells (manual 2.11.1), NTP client (2.9), self-check.

A bell rings when the device wall time reaches a row's time on a day matching its cycle and the
row's duration is not 0: the terminal emits a ``BellRing`` event and logs a line. The NTP client
asks the configured server (SNTP, RFC 4330) every update period and sets the device clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import struct
from typing import Any

from openpss.devices.attendance.model import Terminal, TerminalError
from openpss.devices.attendance.settings import BELL_CYCLES
from openpss.protocols.aio import within

logger = logging.getLogger(__name__)

NTP_EPOCH_OFFSET = 2_208_988_800  # RFC 5905: seconds from 1900-01-01 to 1970-01-01
NTP_TIMEOUT_S = 2.0
SELF_CHECK_ITEMS = ("FP", "Display", "Voice", "Key", "USB")  # manual table 2-9, in sequence


def due_bells(terminal: Terminal, local: dt.datetime) -> list[int]:
    """Bell rows (1-based) that ring at this wall-time minute."""
    weekday = BELL_CYCLES[local.isoweekday()]  # isoweekday 1 = Monday
    due = []
    for number, bell in enumerate(terminal.settings.bells, start=1):
        if bell.duration_s == 0 or bell.time != f"{local:%H:%M}":
            continue
        if bell.cycle in ("EveryDay", weekday):
            due.append(number)
    return due


def ring(terminal: Terminal, number: int) -> None:
    """Ring one bell: an event and a log line."""
    bell = terminal.settings.bells[number - 1]
    logger.info("bell %d rings for %d s (%s, %s)", number, bell.duration_s, bell.time, bell.cycle)
    terminal.emit("BellRing", {"Index": number, "Duration": bell.duration_s, "Time": bell.time})


def sntp_request() -> bytes:
    """A 48-byte SNTP client request (LI 0, version 4, mode 3)."""
    return bytes([0x23]) + bytes(47)


def parse_sntp_reply(data: bytes) -> dt.datetime:
    """The server's transmit timestamp of an SNTP reply."""
    if len(data) < 48:
        raise TerminalError(f"NTP reply is {len(data)} bytes, expected 48")
    if data[0] & 0x07 not in (4, 5):
        raise TerminalError("NTP reply is not in server mode")
    seconds, fraction = struct.unpack("!II", data[40:48])
    if seconds == 0:
        raise TerminalError("NTP reply has no transmit time")
    return dt.datetime.fromtimestamp(seconds - NTP_EPOCH_OFFSET + fraction / 2**32, dt.UTC)


async def query_ntp(address: str, port: int, timeout: float = NTP_TIMEOUT_S) -> dt.datetime:
    """Ask an NTP server for the time (one UDP exchange)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (address, port))
        await loop.sock_sendall(sock, sntp_request())
        data = await within(loop.sock_recv(sock, 512), timeout)
    except (OSError, TimeoutError) as exc:
        raise TerminalError(f"NTP server {address}:{port} did not answer") from exc
    finally:
        sock.close()
    return parse_sntp_reply(data)


class DeviceServices:
    """Runs the bells and the NTP client while the device is up."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self._last_minute: dt.datetime | None = None
        self._last_sync: dt.datetime | None = None

    async def run(self, tick_s: float = 1.0) -> None:
        """Loop until cancelled."""
        while True:
            self.tick()
            if self._ntp_due():
                await self.sync_ntp()
            await asyncio.sleep(tick_s)

    def tick(self) -> list[int]:
        """Ring the bells of a newly reached minute; returns the rows rung."""
        minute = self.terminal.local_now().replace(second=0, microsecond=0)
        if minute == self._last_minute:
            return []
        self._last_minute = minute
        rung = due_bells(self.terminal, minute)
        for number in rung:
            ring(self.terminal, number)
        return rung

    def _ntp_due(self) -> bool:
        ntp = self.terminal.settings.ntp
        if not ntp.enabled:
            return False
        now = self.terminal.clock()
        period = dt.timedelta(minutes=ntp.update_period_min)
        return self._last_sync is None or now - self._last_sync >= period

    async def sync_ntp(self) -> bool:
        """One NTP exchange; True when the clock was set."""
        ntp = self.terminal.settings.ntp
        self._last_sync = self.terminal.clock()
        try:
            true_utc = await query_ntp(ntp.address, ntp.port)
        except TerminalError as exc:
            logger.warning("NTP sync failed: %s", exc)
            return False
        self.terminal.adjust_clock(true_utc)
        logger.info("clock set from NTP server %s:%d", ntp.address, ntp.port)
        return True

    def self_check(self, item: str) -> dict[str, Any]:
        """System self-check (manual 2.11.4): Auto runs every item in sequence."""
        items = SELF_CHECK_ITEMS if item == "Auto" else (item,)
        if any(i not in SELF_CHECK_ITEMS for i in items):
            raise TerminalError(
                f"self-check item must be Auto or one of {', '.join(SELF_CHECK_ITEMS)}"
            )
        result = {f"{i}": "OK" for i in items}
        self.terminal.log_admin(0, f"self-check {item}")
        return result
