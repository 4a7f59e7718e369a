"""Run baresip with a generated config dir (loopback only, no audio devices) and drive ctrl_tcp."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import struct
import wave
from pathlib import Path

from openpss.protocols.aio import within
from tests.support.peers import require_program
from tests.support.ports import free_port

MODULE_PATH = "/usr/lib/baresip/modules"


def write_tone(path: Path, *, seconds: int = 20, frequency: float = 440.0) -> None:
    """A 8 kHz mono sine WAV for baresip's aufile source."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(
            b"".join(
                struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / 8000)))
                for i in range(8000 * seconds)
            )
        )


def wav_rms(path: Path) -> float:
    """Root mean square of a 16-bit WAV (0 = silence)."""
    with wave.open(str(path), "rb") as source:
        frames = source.readframes(source.getnframes())
    samples = struct.unpack(f"<{len(frames) // 2}h", frames[: len(frames) // 2 * 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


class Baresip:
    """One baresip process with one account; ``command`` talks to its ctrl_tcp module."""

    def __init__(
        self, directory: Path, *, user: str, password: str, server_port: int, answermode: str
    ) -> None:
        self.directory = directory
        self.user = user
        self.sip_port = free_port()
        self.ctrl_port = free_port()
        rtp = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        write_tone(directory / "tone.wav")
        escaped = user.replace("#", "%23")
        (directory / "accounts").write_text(
            f"<sip:{escaped}@127.0.0.1:{server_port}>;auth_user={user};auth_pass={password};"
            f"answermode={answermode};regint=60;audio_codecs=PCMA,PCMU\n"
        )
        (directory / "config").write_text(
            "\n".join(
                [
                    "poll_method epoll",
                    f"sip_listen 127.0.0.1:{self.sip_port}",
                    "net_interface 127.0.0.1",
                    f"rtp_ports {rtp}-{rtp + 40}",
                    "audio_player aubridge,none",
                    "audio_alert aubridge,none",
                    f"audio_source aufile,{directory / 'tone.wav'}",
                    f"module_path {MODULE_PATH}",
                    "module g711.so",
                    "module aufile.so",
                    "module aubridge.so",
                    "module sndfile.so",
                    "module_app account.so",
                    "module_app menu.so",
                    "module_app ctrl_tcp.so",
                    f"ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}",
                    f"snd_path {directory}",
                    "",
                ]
            )
        )
        self.process: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, object]] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._pump: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start baresip and connect to ctrl_tcp."""
        binary = require_program("baresip", "apt-get install -y baresip")
        self.process = await asyncio.create_subprocess_exec(
            binary,
            "-f",
            str(self.directory),
            stdout=(self.directory / "stdout.log").open("wb"),
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
        deadline = asyncio.get_running_loop().time() + 15
        while True:
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                break
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.1)
        self._pump = asyncio.create_task(self._read_events())

    async def _read_events(self) -> None:
        assert self._reader is not None
        while True:
            length = await self._reader.readuntil(b":")
            payload = await self._reader.readexactly(int(length[:-1]) + 1)
            self.events.append(json.loads(payload[:-1]))

    async def command(self, command: str, params: str = "") -> None:
        """Send one ctrl_tcp command (netstring-framed JSON)."""
        assert self._writer is not None
        body = json.dumps({"command": command, "params": params, "token": command}).encode()
        self._writer.write(b"%d:%s," % (len(body), body))
        await self._writer.drain()

    def log(self) -> str:
        """What baresip printed."""
        return (self.directory / "stdout.log").read_text(errors="replace")

    async def stop(self) -> None:
        """Quit baresip (SIGTERM; SIGKILL if it hangs)."""
        if self._pump is not None:
            self._pump.cancel()
        if self._writer is not None:
            self._writer.close()
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await within(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                with contextlib.suppress(ProcessLookupError):
                    await self.process.wait()
