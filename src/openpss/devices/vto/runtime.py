"""Runs the door station: model, HTTP (CGI + control), DHIP and the timer tick in one event
loop, so the model is only ever touched from that loop.

``VtoRuntime.run`` serves until cancelled (the CLI); ``VtoThread`` runs one in a background
thread with free loopback ports (tests, benchmarks, the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from openpss.devices.vto.dhip import VtoDhipBackend
from openpss.devices.vto.entities import MAX_MONITOR_STREAMS
from openpss.devices.vto.http import VtoHttp
from openpss.devices.vto.media import MonitorStreams
from openpss.devices.vto.model import ADMIN_USER, DoorStation
from openpss.protocols.dahua_http.digest import realm_for
from openpss.protocols.dahua_http.server import DEVICE_LIMITS
from openpss.protocols.dhip.server import DhipServer
from openpss.protocols.http_guard import uvicorn_options
from openpss.protocols.rtsp.server import RtspServer

logger = logging.getLogger(__name__)

TICK_S = 0.05  # timers (ring timeout, lock hold, alarms) advance this often


@dataclass
class Ports:
    """Where the unit listens (0 = a free port)."""

    host: str = "127.0.0.1"
    http: int = 80
    dhip: int = 5000
    rtsp: int = 554
    sip: int = 5060


@dataclass
class VtoRuntime:
    """The servers of one door station."""

    station: DoorStation
    ports: Ports = field(default_factory=Ports)
    extra_services: list[Callable[[VtoRuntime], Any]] = field(default_factory=list)
    fps: int = 25
    audio_file: Path | None = None
    stream_sizes: dict[int, tuple[int, int]] | None = None
    sip_timers: Any = None  # protocols.sip.Timers; None = RFC 3261 defaults

    def __post_init__(self) -> None:
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
        self.station.on_event = self._on_event
        self.listeners: list[Callable[[str, str, dict[str, Any]], None]] = []
        self.uvicorn: uvicorn.Server | None = None
        self.started = asyncio.Event()
        self.sip_server: Any = None
        self.sip_link: Any = None

    def _on_event(self, code: str, action: str, data: dict[str, Any]) -> None:
        self.http.publish(code, action, data)
        self.dhip.publish(code, action, 0, data)
        for listener in list(self.listeners):
            listener(code, action, data)

    @property
    def http_port(self) -> int:
        """The bound HTTP port."""
        assert self.uvicorn is not None
        return int(self.uvicorn.servers[0].sockets[0].getsockname()[1])

    async def run(self) -> None:
        """Serve until cancelled."""
        p = self.ports
        await self.dhip.start(p.host, p.dhip)
        await self.rtsp.start(p.host, p.rtsp)
        config = uvicorn.Config(
            self.http.app(),
            host=p.host,
            port=p.http,
            log_level="warning",
            lifespan="off",
            **uvicorn_options(DEVICE_LIMITS),
        )
        self.uvicorn = uvicorn.Server(config)
        tasks = [asyncio.create_task(self.uvicorn.serve()), asyncio.create_task(self._tick())]
        tasks += [asyncio.create_task(start(self)) for start in self.extra_services]
        try:
            while not self.uvicorn.started:
                if tasks[0].done():
                    await tasks[0]
                    raise RuntimeError("HTTP server did not start")
                await asyncio.sleep(0.01)
            self.started.set()
            logger.info(
                "VTO %s (No. %s): HTTP %s:%d, DHIP %d, RTSP %d",
                self.station.serial,
                self.station.settings.vto_number,
                p.host,
                self.http_port,
                self.dhip.port,
                self.rtsp.port,
            )
            await asyncio.gather(*tasks)
        finally:
            self.uvicorn.should_exit = True
            for task in tasks[1:]:
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*tasks[1:], return_exceptions=True), 5)
            await self.dhip.close()
            await self.rtsp.close()
            self.monitor.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(tasks[0], 3)

    async def _tick(self) -> None:
        while True:
            try:
                self.station.tick()
            except Exception:  # a timer bug must not stop the unit
                logger.exception("VTO timer tick failed")
            await asyncio.sleep(TICK_S)


class VtoThread:
    """A ``VtoRuntime`` in a background thread (its own event loop)."""

    def __init__(self, runtime: VtoRuntime) -> None:
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._task = self.loop.create_task(self.runtime.run())
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self._task)
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def start(self, timeout: float = 15.0) -> VtoThread:
        """Start and wait until every server listens."""
        self._thread.start()
        deadline = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if self.runtime.started.is_set():
                return self
            if not self._thread.is_alive():
                break
            deadline.wait(0.02)
        raise RuntimeError("the VTO did not start")

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the unit's loop and return its result."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        """Stop the servers and the thread."""
        if self._task is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<http port>``."""
        return f"http://127.0.0.1:{self.runtime.http_port}"
