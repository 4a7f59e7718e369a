"""Local control channel of the virtual camera: drive input lines, read output lines.

JSON over UDP on the loopback interface, one request per datagram and one reply:
  {"op": "set", "line": "Line1", "level": true, "delay_us": 0}
  {"op": "pulses", "line": "Line1", "count": 5, "high_us": 1000, "low_us": 1000,
   "delay_us": 0, "active_high": true}
  {"op": "outputs"}
  {"op": "sample", "duration_ms": 100, "interval_ms": 1}  (reports level changes)
  {"op": "scene", "view": "flat", "illumination": 1.0}  (what the lens sees: "scene" = the
   test scene, "flat" = an evenly lit white target, "dark" = lens covered)
Replies carry "ok": true plus data, or "ok": false and "error". Edge times are planned in
the device clock, so pulse widths seen by the model are exact whatever the scheduling jitter.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from typing import Any

from openpss.devices.camera.acquisition import INPUT_LINES
from openpss.devices.camera.server import CameraFrontEnd

logger = logging.getLogger(__name__)

MAX_EDGES = 100_000
MAX_SAMPLES = 500
SCENE_VIEWS = ("scene", "flat", "dark")


class ControlError(ValueError):
    """A control request that cannot be carried out; the message says why."""


def _number(request: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = request.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise ControlError(f"{key} must be a number in {low}-{high}, got {value!r}")
    return float(value)


class ControlChannel(asyncio.DatagramProtocol):
    """Serves control requests for one camera front-end."""

    def __init__(self, front_end: CameraFrontEnd) -> None:
        self.front = front_end
        self.transport: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, front_end: CameraFrontEnd, host: str, port: int) -> ControlChannel:
        """Bind the control channel (loopback only)."""
        if not host.startswith("127."):
            raise ControlError(f"the control channel listens on loopback only, not {host}")
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_datagram_endpoint(
            lambda: cls(front_end), local_addr=(host, port)
        )
        return channel

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = transport  # type: ignore[assignment]

    @property
    def port(self) -> int:
        """Bound UDP port."""
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        """Decode one request and answer it (sampling answers later)."""
        task = asyncio.ensure_future(self._answer(data, addr))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            request = json.loads(data)
            if not isinstance(request, dict):
                raise ControlError("a request is a JSON object")
            reply = await self.handle(request)
        except (ValueError, KeyError, TypeError) as exc:
            reply = {"ok": False, "error": str(exc)}
        if self.transport is not None:
            self.transport.sendto(json.dumps(reply).encode(), addr)

    async def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Carry out one request."""
        op = request.get("op")
        if op == "set":
            return self._set(request)
        if op == "pulses":
            return self._pulses(request)
        if op == "outputs":
            now = self.front.now_ns()
            return {"ok": True, "t_ns": now, "levels": self.front.model.output_levels()}
        if op == "sample":
            return await self._sample(request)
        if op == "scene":
            return self._scene(request)
        raise ControlError(f"unknown op {op!r}; use set, pulses, outputs, sample or scene")

    def _scene(self, request: dict[str, Any]) -> dict[str, Any]:
        view = request.get("view")
        if view not in SCENE_VIEWS:
            raise ControlError(f"view must be one of {', '.join(SCENE_VIEWS)}, got {view!r}")
        illumination = _number(request, "illumination", 1.0, 0.0, 10.0)
        set_view = getattr(self.front.model, "set_view", None)
        if not callable(set_view):
            raise ControlError("this camera has no simulated scene")
        set_view(view, illumination)
        return {"ok": True, "view": view, "illumination": illumination}

    def _line(self, request: dict[str, Any]) -> str:
        line = request.get("line")
        if not isinstance(line, str) or not line:
            raise ControlError("line must name an input line, e.g. Line1")
        if line not in INPUT_LINES:
            raise ControlError(f"{line} is not an input line; use {' or '.join(INPUT_LINES)}")
        get = getattr(self.front.model, "get", None)
        if callable(get) and get("LineMode", LineSelector=line) != "Input":
            raise ControlError(f"{line} is in Output mode; set LineMode to Input first")
        return line

    def _set(self, request: dict[str, Any]) -> dict[str, Any]:
        line = self._line(request)
        level = request.get("level")
        if not isinstance(level, bool):
            raise ControlError("level must be true or false")
        delay_ns = int(_number(request, "delay_us", 0, 0, 60e6) * 1000)
        at = self.front.now_ns() + delay_ns
        self._schedule([(at, level)], line)
        return {"ok": True, "edges": 1, "start_ns": at, "end_ns": at}

    def _pulses(self, request: dict[str, Any]) -> dict[str, Any]:
        line = self._line(request)
        count = int(_number(request, "count", 1, 1, MAX_EDGES // 2))
        high_ns = int(_number(request, "high_us", 1000, 1, 60e6) * 1000)
        low_ns = int(_number(request, "low_us", 1000, 1, 60e6) * 1000)
        delay_ns = int(_number(request, "delay_us", 0, 0, 60e6) * 1000)
        active = request.get("active_high", True)
        if not isinstance(active, bool):
            raise ControlError("active_high must be true or false")
        start = self.front.now_ns() + delay_ns
        edges: list[tuple[int, bool]] = []
        for index in range(count):
            rise = start + index * (high_ns + low_ns)
            edges += [(rise, active), (rise + high_ns, not active)]
        self._schedule(edges, line)
        return {"ok": True, "edges": len(edges), "start_ns": start, "end_ns": edges[-1][0]}

    def _schedule(self, edges: list[tuple[int, bool]], line: str) -> None:
        loop = asyncio.get_running_loop()
        base_ns, base_loop = self.front.now_ns(), loop.time()
        for at_ns, level in edges:
            when = base_loop + max(0, at_ns - base_ns) / 1e9
            loop.call_at(when, self._apply, line, level, at_ns)

    def _apply(self, line: str, level: bool, at_ns: int) -> None:
        try:
            self.front.model.set_line_input(line, level, at_ns)
            self.front.step(self.front.now_ns())
        except Exception as exc:
            logger.warning("line %s edge refused: %s", line, exc)

    async def _sample(self, request: dict[str, Any]) -> dict[str, Any]:
        duration = _number(request, "duration_ms", 100, 0, 60_000) / 1000
        interval = _number(request, "interval_ms", 1, 0.1, 60_000) / 1000
        # Only level changes are reported (plus the first and last sample) to fit one datagram.
        samples: list[tuple[int, dict[str, bool]]] = []
        loop = asyncio.get_running_loop()
        end = loop.time() + duration
        while True:
            levels = dict(self.front.model.output_levels())
            now = self.front.now_ns()
            if not samples or samples[-1][1] != levels:
                samples.append((now, levels))
            if loop.time() >= end or len(samples) >= MAX_SAMPLES:
                break
            await asyncio.sleep(interval)
        samples.append((now, levels))
        return {"ok": True, "samples": samples}


def request(port: int, message: dict[str, Any], *, timeout: float = 65.0) -> dict[str, Any]:
    """Send one control request to a camera on this host and return its reply."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(json.dumps(message).encode(), ("127.0.0.1", port))
        data, _ = sock.recvfrom(1 << 20)
    reply: dict[str, Any] = json.loads(data)
    return reply
