"""Runs the door station: model, HTTP (CGI + control), DHIP and the timer tick in one event
loop, so the model is only ever touched from that loop.

``VtoRuntime.run`` serves until cancelled (the CLI); ``VtoThread`` runs one in a background
thread with free loopback ports (tests, benchmarks, the demo).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openpss.devices.common.runtime import DeviceRuntime, DeviceThread, listening
from openpss.devices.vto.dhip import VtoDhipBackend
from openpss.devices.vto.entities import MAX_MONITOR_STREAMS
from openpss.devices.vto.http import VtoHttp
from openpss.devices.vto.media import MonitorStreams
from openpss.devices.vto.model import ADMIN_USER, DoorStation
from openpss.protocols.dahua_http.digest import realm_for
from openpss.protocols.dhip.server import DhipServer
from openpss.protocols.rtsp.server import RtspServer


@dataclass
class Ports:
    """Where the unit listens (0 = a free port)."""

    host: str = "127.0.0.1"
    http: int = 80
    dhip: int = 5000
    rtsp: int = 554
    sip: int = 5060


@dataclass
class VtoRuntime(DeviceRuntime):
    """The servers of one door station."""

    kind = "VTO"
    tick_s = 0.05  # timers (ring timeout, lock hold, alarms) advance this often

    station: DoorStation
    ports: Ports = field(default_factory=Ports)
    extra_services: list[Callable[[VtoRuntime], Any]] = field(default_factory=list)
    fps: int = 25
    audio_file: Path | None = None
    stream_sizes: dict[int, tuple[int, int]] | None = None
    sip_timers: Any = None  # protocols.sip.Timers; None = RFC 3261 defaults

    def __post_init__(self) -> None:
        self.setup()
        station = self.station
        self.http = VtoHttp(station)
        self.dhip = DhipServer(VtoDhipBackend(station))
        self.monitor = MonitorStreams(
            realm=realm_for(station.serial),
            ha1_for=lambda user: station.admin_ha1 if user == ADMIN_USER else None,
            label=lambda: f"VTO {station.settings.vto_number}",
            clock=station.clock,
            fps=self.fps,
            audio_file=self.audio_file,
            sizes=self.stream_sizes,
        )
        self.rtsp = RtspServer(self.monitor, max_streams=MAX_MONITOR_STREAMS)
        self.station.on_event = self.on_event
        self.sip_server: Any = None
        self.sip_link: Any = None

    def on_event(self, code: str, action: str, data: dict[str, Any]) -> None:
        """A model event: also to the DHIP clients."""
        self.dhip.publish(code, action, 0, data)
        super().on_event(code, action, data)

    def tick(self) -> None:
        """Ring timeout, lock hold, door and tamper alarms."""
        self.station.tick()

    async def open_servers(self) -> None:
        """DHIP and RTSP."""
        p = self.ports
        with listening("DHIP", p.host, p.dhip):
            await self.dhip.start(p.host, p.dhip)
        with listening("RTSP", p.host, p.rtsp):
            await self.rtsp.start(p.host, p.rtsp)

    async def close_servers(self) -> None:
        """DHIP, RTSP and the monitor streams."""
        await self.dhip.close()
        await self.rtsp.close()
        self.monitor.close()

    def services(self) -> list[Coroutine[Any, Any, Any]]:
        """``extra_services`` (SIP, when the CLI or a test adds it)."""
        return [start(self) for start in self.extra_services]

    def services_ready(self) -> bool:
        """SIP is bound, when a service (``attach_sip``) runs it."""
        return not self.extra_services or self.sip_link is not None

    def describe(self) -> str:
        """Serial, VTO No. and the ports."""
        s, p = self.station, self.ports
        return (
            f"VTO {s.serial} (No. {s.settings.vto_number}): HTTP {p.host}:{self.http_port}, "
            f"DHIP {self.dhip.port}, RTSP {self.rtsp.port}"
        )


class VtoThread(DeviceThread[VtoRuntime]):
    """A ``VtoRuntime`` in a background thread (its own event loop)."""
