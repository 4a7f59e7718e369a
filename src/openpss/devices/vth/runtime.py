"""Runs the indoor monitor: model, HTTP (CGI + control), SIP and the timer tick in one event
loop, so the model is only ever touched from that loop.

``VthRuntime.run`` serves until cancelled (the CLI); ``VthThread`` runs one in a background
thread with free loopback ports (tests, the demo).
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpss.devices.common.runtime import DeviceRuntime, DeviceThread
from openpss.devices.vth.http import VthHttp
from openpss.devices.vth.model import IndoorMonitor


@dataclass
class Ports:
    """Where the unit listens (0 = a free port)."""

    host: str = "127.0.0.1"
    http: int = 80
    sip: int = 5060


@dataclass
class VthRuntime(DeviceRuntime):
    """The servers of one indoor monitor."""

    kind = "VTH"
    tick_s = 0.1  # the ring timer advances this often

    unit: IndoorMonitor
    ports: Ports = field(default_factory=Ports)
    audio_file: Path | None = None
    sip_timers: Any = None  # protocols.sip.Timers; None = RFC 3261 defaults
    with_sip: bool = True

    def __post_init__(self) -> None:
        self.setup()
        self.http = VthHttp(self.unit, self.last_frame)
        self.unit.on_event = self.on_event
        self.sip: Any = None  # sip.VthSip once attached

    def last_frame(self) -> Any:
        """The last decoded picture: of the monitor while monitoring, else of the last call."""
        link = self.sip
        if link is None:
            return None
        if self.unit.monitor_door and link.monitor_view is not None:
            return link.monitor_view.last_frame
        media = link.last_media
        return media.decoder.last_frame if media is not None else None

    @property
    def sip_port(self) -> int:
        """The bound SIP port."""
        assert self.sip is not None
        return int(self.sip.ua.endpoint.port)

    def tick(self) -> None:
        """The ring timer."""
        self.unit.tick()

    def services(self) -> list[Coroutine[Any, Any, Any]]:
        """The SIP user agent."""
        if not self.with_sip:
            return []
        from openpss.devices.vth.sip import attach_sip

        return [attach_sip(self)]

    def services_ready(self) -> bool:
        """SIP is attached (bound), when the unit runs it."""
        return not self.with_sip or self.sip is not None

    def describe(self) -> str:
        """Serial, room and HTTP address."""
        u, p = self.unit, self.ports
        return f"VTH {u.serial} (room {u.settings.room}): HTTP {p.host}:{self.http_port}"


class VthThread(DeviceThread[VthRuntime]):
    """A ``VthRuntime`` in a background thread (its own event loop)."""
