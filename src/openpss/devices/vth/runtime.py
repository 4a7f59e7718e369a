"""Runs the indoor monitor: model, HTTP (CGI + control), SIP and the timer tick in one event
loop, so the model is only ever touched from that loop.

``VthRuntime.run`` serves until cancelled (the CLI); ``VthThread`` runs one in a background
thread with free loopback ports (tests, the demo).
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

from openpss.devices.vth.http import VthHttp
from openpss.devices.vth.model import IndoorMonitor
from openpss.protocols.dahua_http.server import DEVICE_LIMITS
from openpss.protocols.http_guard import uvicorn_options

logger = logging.getLogger(__name__)

TICK_S = 0.1  # the ring timer advances this often


@dataclass
class Ports:
    """Where the unit listens (0 = a free port)."""

    host: str = "127.0.0.1"
    http: int = 80
    sip: int = 5060


@dataclass
class VthRuntime:
    """The servers of one indoor monitor."""

    unit: IndoorMonitor
    ports: Ports = field(default_factory=Ports)
    audio_file: Path | None = None
    sip_timers: Any = None  # protocols.sip.Timers; None = RFC 3261 defaults
    with_sip: bool = True

    def __post_init__(self) -> None:
        self.http = VthHttp(self.unit, self.last_frame)
        self.unit.on_event = self._on_event
        self.listeners: list[Callable[[str, str, dict[str, Any]], None]] = []
        self.uvicorn: uvicorn.Server | None = None
        self.started = asyncio.Event()
        self.sip: Any = None  # sip.VthSip once attached

    def _on_event(self, code: str, action: str, data: dict[str, Any]) -> None:
        self.http.publish(code, action, data)
        for listener in list(self.listeners):
            listener(code, action, data)

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
    def http_port(self) -> int:
        """The bound HTTP port."""
        assert self.uvicorn is not None
        return int(self.uvicorn.servers[0].sockets[0].getsockname()[1])

    @property
    def sip_port(self) -> int:
        """The bound SIP port."""
        assert self.sip is not None
        return int(self.sip.ua.endpoint.port)

    async def run(self) -> None:
        """Serve until cancelled."""
        p = self.ports
        config = uvicorn.Config(
            self.http.app(),
            host=p.host,
            port=p.http,
            log_level="warning",
            lifespan="off",
            **uvicorn_options(DEVICE_LIMITS),  # connection caps, head and body deadlines
        )
        self.uvicorn = uvicorn.Server(config)
        tasks = [asyncio.create_task(self.uvicorn.serve()), asyncio.create_task(self._tick())]
        if self.with_sip:
            from openpss.devices.vth.sip import attach_sip

            tasks.append(asyncio.create_task(attach_sip(self)))
        try:
            while not self.uvicorn.started or (self.with_sip and self.sip is None):
                for task in tasks:
                    if task.done():
                        await task
                        raise RuntimeError("a server of the VTH did not start")
                await asyncio.sleep(0.01)
            self.started.set()
            logger.info(
                "VTH %s (room %s): HTTP %s:%d",
                self.unit.serial,
                self.unit.settings.room,
                p.host,
                self.http_port,
            )
            await asyncio.gather(*tasks)
        finally:
            self.uvicorn.should_exit = True
            for task in tasks[1:]:
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.gather(*tasks[1:], return_exceptions=True), 5)
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(tasks[0], 3)

    async def _tick(self) -> None:
        while True:
            try:
                self.unit.tick()
            except Exception:  # a timer bug must not stop the unit
                logger.exception("VTH timer tick failed")
            await asyncio.sleep(TICK_S)


class VthThread:
    """A ``VthRuntime`` in a background thread (its own event loop)."""

    def __init__(self, runtime: VthRuntime) -> None:
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self.error: BaseException | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self._task = self.loop.create_task(self.runtime.run())
        try:
            self.loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # reported by start()
            self.error = exc

    def start(self, timeout: float = 15.0) -> VthThread:
        """Start and wait until every server listens."""
        self._thread.start()
        waiter = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if self.runtime.started.is_set():
                return self
            if not self._thread.is_alive():
                break
            waiter.wait(0.02)
        raise RuntimeError(f"the VTH did not start: {self.error!r}")

    def call(self, function: Callable[[], Any]) -> Any:
        """Run ``function`` on the unit's loop and return its result."""

        async def run() -> Any:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def stop(self) -> None:
        """Stop the servers and the thread."""
        if self._task is not None:
            self.loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<http port>``."""
        return f"http://127.0.0.1:{self.runtime.http_port}"
