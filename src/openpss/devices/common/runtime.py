"""Serving one unit: its HTTP front-end under uvicorn, the timer tick and its other servers in
one event loop, so the model is only ever touched from that loop.

``DeviceRuntime.run`` serves until cancelled (the CLI); ``DeviceThread`` runs one in a
background thread with its own loop (tests, benchmarks, the demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, Generic, Self, TypeVar

import uvicorn

from openpss.protocols.aio import within
from openpss.protocols.dahua_http.server import DEVICE_LIMITS
from openpss.protocols.http_guard import uvicorn_options

logger = logging.getLogger(__name__)

EventListener = Callable[[str, str, dict[str, Any]], None]


class CannotListen(OSError):
    """A server of the unit cannot bind its port: in use, or an address not on this host.
    ``strerror`` names the server, the address and the reason ("SIP on 127.0.0.1:5060: ...")."""


def cannot_listen(server: str, host: str, port: int, exc: OSError) -> CannotListen:
    """The error for ``server`` failing to bind ``host:port`` with ``exc``."""
    if isinstance(exc, CannotListen):
        return exc
    reason = exc.strerror or str(exc)
    return CannotListen(exc.errno, f"{server} on {host}:{port}: {reason}")


@contextlib.contextmanager
def listening(server: str, host: str, port: int) -> Iterator[None]:
    """Turn a bind failure inside into a ``CannotListen`` naming ``server`` and its port."""
    try:
        yield
    except OSError as exc:
        raise cannot_listen(server, host, port, exc) from exc


class DeviceRuntime(ABC):
    """The lifecycle every unit shares; the unit names its model, ports and servers."""

    kind = "device"  # VTO, VTH: in log lines and errors
    tick_s = 0.1
    http: Any  # common.http.DeviceHttp
    ports: Any  # host and http port, at least

    def setup(self) -> None:
        """State shared by every runtime (call from the unit's ``__post_init__``)."""
        self.listeners: list[EventListener] = []
        self.uvicorn: uvicorn.Server | None = None
        self.started = asyncio.Event()

    # --- what the unit provides --------------------------------------------------------

    @abstractmethod
    def tick(self) -> None:
        """Advance the model's timers."""

    async def open_servers(self) -> None:
        """Start the servers that listen before HTTP (DHIP, RTSP); none by default."""
        return None

    async def close_servers(self) -> None:
        """Stop what ``open_servers`` started; nothing by default."""
        return None

    def services(self) -> list[Coroutine[Any, Any, Any]]:
        """Further tasks of the unit (SIP)."""
        return []

    def services_ready(self) -> bool:
        """True once the services have bound their ports (SIP); HTTP waits for it."""
        return True

    def ready(self) -> bool:
        """True once every server the unit needs listens."""
        return self.services_ready() and self.uvicorn is not None and bool(self.uvicorn.started)

    def describe(self) -> str:
        """The unit and where it listens, for the start-up log line."""
        return f"{self.kind}: HTTP {self.ports.host}:{self.http_port}"

    # --- shared --------------------------------------------------------------------------

    def on_event(self, code: str, action: str, data: dict[str, Any]) -> None:
        """A model event: to the HTTP event streams, then to the listeners."""
        self.http.publish(code, action, data)
        for listener in list(self.listeners):
            listener(code, action, data)

    @property
    def http_port(self) -> int:
        """The bound HTTP port."""
        assert self.uvicorn is not None
        return int(self.uvicorn.servers[0].sockets[0].getsockname()[1])

    async def run(self) -> None:
        """Serve until cancelled. HTTP answers last, once every other port is bound: a unit that
        answers HTTP has all its servers up (the demo waits for that)."""
        with listening("HTTP", self.ports.host, self.ports.http):  # not uvicorn's exit(3)
            http = _tcp_listener(self.ports.host, self.ports.http)
        try:
            await self.open_servers()
        except BaseException:
            http.close()
            raise
        config = uvicorn.Config(
            self.http.app(),
            host=self.ports.host,
            port=self.ports.http,
            log_level="warning",
            lifespan="off",
            **uvicorn_options(DEVICE_LIMITS),  # connection caps, head and body deadlines
        )
        self.uvicorn = uvicorn.Server(config)
        tasks = [asyncio.create_task(self._tick())]
        tasks += [asyncio.create_task(service) for service in self.services()]
        serving: asyncio.Task[None] | None = None
        try:
            await self._wait_for(self.services_ready, tasks)
            serving = asyncio.create_task(self.uvicorn.serve(sockets=[http]))
            await self._wait_for(self.ready, [serving, *tasks])
            self.started.set()
            logger.info("%s", self.describe())
            await asyncio.gather(serving, *tasks)
        finally:
            self.uvicorn.should_exit = True
            for task in tasks:
                task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await within(asyncio.gather(*tasks, return_exceptions=True), 5)
            await self.close_servers()
            if serving is None:
                http.close()
            else:
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await within(serving, 3)

    async def _wait_for(
        self, condition: Callable[[], bool], tasks: list[asyncio.Task[Any]]
    ) -> None:
        """Until ``condition`` holds; a task that ends first raises its error."""
        while not condition():
            for task in tasks:
                if task.done():
                    await task
                    raise RuntimeError(f"a server of the {self.kind} did not start")
            await asyncio.sleep(0.01)

    async def _tick(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # a timer bug must not stop the unit
                logger.exception("%s timer tick failed", self.kind)
            await asyncio.sleep(self.tick_s)


def _tcp_listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (IPv4 or IPv6 literal or name) for uvicorn."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


R = TypeVar("R", bound=DeviceRuntime)


class DeviceThread(Generic[R]):
    """A runtime in a background thread (its own event loop)."""

    def __init__(self, runtime: R) -> None:
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
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

    def start(self, timeout: float = 15.0) -> Self:
        """Start and wait until every server listens."""
        self._thread.start()
        waiter = threading.Event()
        for _ in range(int(timeout / 0.02)):
            if self.runtime.started.is_set():
                return self
            if not self._thread.is_alive():
                break
            waiter.wait(0.02)
        raise RuntimeError(f"the {self.runtime.kind} did not start: {self.error!r}")

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
