"""Door station (VTO) figures: encoder frame rate, CPU per monitored stream, six RTSP viewers
without dropped frames, event latency from a button press to the DHIP and HTTP event.

1. Encoder: the test scene rendered and encoded with libx264 at 1280x720 in this process on
   one thread (frames per second of CPU time and of wall time).
2. Streams: ``openpss device vto`` runs as a child process; 0, 1, 2 ... 6 RTSP viewers (TCP
   interleaved) watch the main stream; the child's CPU (utime + stime from /proc) per second
   is measured for each count. Every viewer checks RTP sequence numbers (a gap is a dropped
   packet) and counts frames (marker bits).
3. Events: a DHIP client (attached, codes All) and an HTTP event stream listen; the control
   endpoint presses call key 1 (then again to hang up); the time from sending the press to
   each ``BackKeyLight`` event is recorded. p50/p99 over ``--presses`` presses.

Usage: python benchmarks/vto.py [--seconds 5] [--presses 200] [--fps 25]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from openpss.devices.vto.media import H264Encoder
from openpss.devices.vto.scene import render_array
from openpss.protocols.aio import within

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support.ports
from tests.support.ports import free_port

PASSWORD = "Bench1234"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- 1. encoder ------------------------------------------------------------------------------


def encoder_fps(frames: int, width: int = 1280, height: int = 720) -> tuple[float, float]:
    """(frames per CPU second, frames per wall second) of render + encode on one thread."""
    import datetime as dt

    encoder = H264Encoder(width, height, 25)
    cpu, wall = time.process_time(), time.perf_counter()
    for index in range(frames):
        encoder.encode(render_array(width, height, "VTO 8001", dt.datetime.now(), index))
    return frames / (time.process_time() - cpu), frames / (time.perf_counter() - wall)


# --- the unit as a child process ---------------------------------------------------------


@dataclass
class Unit:
    """A running ``openpss device vto``."""

    process: subprocess.Popen[bytes]
    http: int
    dhip: int
    rtsp: int

    @property
    def url(self) -> str:
        """HTTP base URL."""
        return f"http://127.0.0.1:{self.http}"

    def cpu_seconds(self) -> float:
        """utime + stime of the child (all threads)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def control(self, action: str, **body: object) -> httpx.Response:
        """A control action."""
        return httpx.post(
            f"{self.url}/openpss/control/{action}",
            json=body,
            auth=httpx.DigestAuth("admin", PASSWORD),
            timeout=10,
        )


@contextmanager
def unit(data_dir: Path, fps: int) -> Iterator[Unit]:
    """Start the VTO CLI on free ports and wait until it answers."""
    ports = {name: free_port() for name in ("http", "dhip", "rtsp", "sip")}
    command = [sys.executable, "-m", "openpss.cli", "device", "vto", "--data-dir", str(data_dir)]
    command += ["--admin-password", PASSWORD, "--listen", "127.0.0.1", "--fps", str(fps)]
    for name, port in ports.items():
        command += [f"--{name}-port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    running = Unit(process, ports["http"], ports["dhip"], ports["rtsp"])
    try:
        for _ in range(600):
            try:
                httpx.get(f"{running.url}/cgi-bin/magicBox.cgi?action=getSerialNo", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


# --- 2. RTSP viewers ---------------------------------------------------------------------


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class Viewer(threading.Thread):
    """One RTSP viewer over interleaved TCP: counts frames and sequence gaps of the video."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.frames = self.packets = self.gaps = 0
        self.playing = threading.Event()
        self.stop = threading.Event()
        self.error = ""

    def _request(self, sock: socket.socket, lines: list[str], buffer: bytearray) -> dict[str, str]:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        buffer[:] = rest
        headers = {"status": head.split(b" ")[1].decode()}
        for line in head.decode().split("\r\n")[1:]:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            buffer += sock.recv(65536)
        del buffer[:length]
        return headers

    def run(self) -> None:
        try:
            self._watch()
        except OSError as exc:
            self.error = str(exc)

    def _watch(self) -> None:
        url = f"rtsp://127.0.0.1:{self.port}/cam/realmonitor?channel=1&subtype=0"
        buffer = bytearray()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            challenge = self._request(sock, [f"DESCRIBE {url} RTSP/1.0", "CSeq: 1"], buffer)
            params = dict(
                part.strip().split("=", 1) for part in challenge["www-authenticate"][7:].split(",")
            )
            realm, nonce = params["realm"].strip('"'), params["nonce"].strip('"')
            count = 0

            def auth(method: str, uri: str) -> str:
                nonlocal count
                count += 1
                nc, ha1 = f"{count:08x}", _md5(f"admin:{realm}:{PASSWORD}")
                response = _md5(f"{ha1}:{nonce}:{nc}:bench:auth:{_md5(f'{method}:{uri}')}")
                return (
                    f'Authorization: Digest username="admin", realm="{realm}", nonce="{nonce}", '
                    f'uri="{uri}", response="{response}", qop=auth, nc={nc}, cnonce="bench"'
                )

            self._request(
                sock, [f"DESCRIBE {url} RTSP/1.0", "CSeq: 2", auth("DESCRIBE", url)], buffer
            )
            setup = url + "/trackID=0"
            answer = self._request(
                sock,
                [
                    f"SETUP {setup} RTSP/1.0",
                    "CSeq: 3",
                    "Transport: RTP/AVP/TCP;unicast;interleaved=0-1",
                    auth("SETUP", setup),
                ],
                buffer,
            )
            if answer["status"] != "200":
                self.error = f"SETUP answered {answer['status']}"
                return
            session = answer["session"].split(";")[0]
            lines = [f"PLAY {url} RTSP/1.0", "CSeq: 4", f"Session: {session}", auth("PLAY", url)]
            self._request(sock, lines, buffer)
            self.playing.set()
            self._read(sock, buffer)

    def _read(self, sock: socket.socket, buffer: bytearray) -> None:
        last_seq: int | None = None
        while not self.stop.is_set():
            while len(buffer) < 4:
                buffer += sock.recv(262144)
            size = struct.unpack("!H", buffer[2:4])[0]
            while len(buffer) < 4 + size:
                buffer += sock.recv(262144)
            channel, packet = buffer[1], bytes(buffer[4 : 4 + size])
            del buffer[: 4 + size]
            if channel != 0:
                continue
            seq = struct.unpack("!H", packet[2:4])[0]
            if last_seq is not None and seq != (last_seq + 1) & 0xFFFF:
                self.gaps += 1
            last_seq = seq
            self.packets += 1
            if packet[1] & 0x80:
                self.frames += 1


def stream_cpu(running: Unit, viewers: int, seconds: float) -> tuple[float, list[Viewer]]:
    """Child CPU (fraction of one core) while ``viewers`` watch the main stream."""
    started = [Viewer(running.rtsp) for _ in range(viewers)]
    for viewer in started:
        viewer.start()
        viewer.playing.wait(20)
    time.sleep(1.0)  # encoder warm-up
    cpu, wall = running.cpu_seconds(), time.perf_counter()
    for viewer in started:
        viewer.frames = viewer.packets = viewer.gaps = 0
    time.sleep(seconds)
    load = (running.cpu_seconds() - cpu) / (time.perf_counter() - wall)
    for viewer in started:
        viewer.stop.set()
    return load, started


# --- 3. event latency --------------------------------------------------------------------


def dhip_frame(message: dict[str, object]) -> bytes:
    """A DHIP frame (32-byte header + JSON)."""
    body = json.dumps(message).encode()
    return struct.pack("<I4sIIIIII", 32, b"DHIP", 0, 0, len(body), 0, len(body), 0) + body


async def dhip_listener(port: int, seen: asyncio.Queue[float]) -> None:
    """Log in, attach, and put the arrival time of each BackKeyLight event into ``seen``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def call(
        request_id: int, method: str, params: dict[str, object], session: int
    ) -> dict[str, object]:
        writer.write(
            dhip_frame({"id": request_id, "method": method, "params": params, "session": session})
        )
        while True:
            header = await reader.readexactly(32)
            body = json.loads(await reader.readexactly(struct.unpack("<I", header[16:20])[0]))
            if body.get("id") == request_id and "method" not in body:
                return dict(body)

    first = await call(1, "global.login", {"userName": "admin", "password": ""}, 0)
    session = int(str(first["session"]))
    params = first["params"]
    assert isinstance(params, dict)
    inner = _md5(f"admin:{params['realm']}:{PASSWORD}").upper()
    hashed = _md5(f"admin:{params['random']}:{inner}").upper()
    await call(2, "global.login", {"userName": "admin", "password": hashed}, session)
    await call(3, "eventManager.attach", {"codes": ["All"]}, session)
    while True:
        header = await reader.readexactly(32)
        body = await reader.readexactly(struct.unpack("<I", header[16:20])[0])
        now = time.perf_counter()
        if b"BackKeyLight" in body:
            seen.put_nowait(now)


async def http_listener(url: str, seen: asyncio.Queue[float]) -> None:
    """The multipart event stream; arrival time of each BackKeyLight part into ``seen``."""
    auth = httpx.DigestAuth("admin", PASSWORD)
    async with httpx.AsyncClient(auth=auth, timeout=None) as client:
        attach = f"{url}/cgi-bin/eventManager.cgi?action=attach&codes=[BackKeyLight]"
        async with client.stream("GET", attach) as response:
            async for chunk in response.aiter_bytes():
                now = time.perf_counter()
                for _ in range(chunk.count(b"Code=BackKeyLight")):
                    seen.put_nowait(now)


async def event_latency(running: Unit, presses: int) -> dict[str, list[float]]:
    """Milliseconds from sending each press to the DHIP and the HTTP BackKeyLight event."""
    dhip_seen: asyncio.Queue[float] = asyncio.Queue()
    http_seen: asyncio.Queue[float] = asyncio.Queue()
    tasks = [
        asyncio.create_task(dhip_listener(running.dhip, dhip_seen)),
        asyncio.create_task(http_listener(running.url, http_seen)),
    ]
    await asyncio.sleep(1.0)
    results: dict[str, list[float]] = {"dhip": [], "http": []}
    auth = httpx.DigestAuth("admin", PASSWORD)
    async with httpx.AsyncClient(auth=auth, timeout=10) as client:
        for _ in range(presses):
            for queue in (dhip_seen, http_seen):
                while not queue.empty():
                    queue.get_nowait()
            sent = time.perf_counter()
            await client.post(f"{running.url}/openpss/control/press", json={"button": 1})
            results["dhip"].append((await within(dhip_seen.get(), 10) - sent) * 1000)
            results["http"].append((await within(http_seen.get(), 10) - sent) * 1000)
            # the centre is not registered: the call fails at once and the light goes idle
            for queue in (dhip_seen, http_seen):
                await within(queue.get(), 10)
    for task in tasks:
        task.cancel()
    return results


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` of the sorted list."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measurement per viewer count")
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--fps", type=int, default=25)
    parser.add_argument("--frames", type=int, default=100, help="encoder benchmark frames")
    args = parser.parse_args()
    print(
        "load average before:",
        " ".join(f"{v:.2f}" for v in os.getloadavg()),
        f"on {os.cpu_count()} cores",
    )

    per_cpu, per_wall = encoder_fps(args.frames)
    print(
        f"encoder 1280x720 render+libx264 on one thread: {per_cpu:.1f} fps per CPU second "
        f"({per_wall:.1f} fps wall)"
    )
    with tempfile.TemporaryDirectory() as directory, unit(Path(directory), args.fps) as running:
        # facade: camera key 1 calls the centre (888888, always routable)
        running.control("facade", modules=[{"type": "camera", "keys": ["888888"]}])
        for count in (0, 1, 2, 6):
            load, viewers = stream_cpu(running, count, args.seconds)
            frames = [v.frames for v in viewers]
            gaps = sum(v.gaps for v in viewers)
            errors = [v.error for v in viewers if v.error]
            print(
                f"{count} viewer(s) of the 720p main stream at {args.fps} fps: VTO CPU "
                f"{load * 100:.1f} % of one core; frames per viewer {frames}; sequence gaps "
                f"{gaps}{'; errors ' + str(errors) if errors else ''}"
            )
            time.sleep(1.0)
        idle = asyncio.run(event_latency(running, args.presses))
        watchers = [Viewer(running.rtsp) for _ in range(6)]
        for viewer in watchers:
            viewer.start()
            viewer.playing.wait(20)
        busy = asyncio.run(event_latency(running, args.presses))
        for viewer in watchers:
            viewer.stop.set()
    for label, latencies in (("no viewers", idle), ("six 720p viewers", busy)):
        for name, values in latencies.items():
            print(
                f"button press -> {name.upper()} BackKeyLight event, {label}, {len(values)} "
                f"presses: p50 {statistics.median(values):.1f} ms, "
                f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms"
            )


if __name__ == "__main__":
    main()
