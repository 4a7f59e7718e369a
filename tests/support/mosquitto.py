"""A real mosquitto broker on a free loopback port, for the MQTT bridge tests."""

from __future__ import annotations

import getpass
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.peers import require_program
from tests.support.ports import free_port

START_DEADLINE = 30.0  # seconds for the broker to accept connections (busy machine)


@dataclass
class Broker:
    """A mosquitto process that can be stopped and started again on the same port."""

    program: str
    directory: Path
    port: int = field(default_factory=free_port)
    # Keep sessions across a restart (saved on SIGTERM): only the restart test needs it.
    persistence: bool = False
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """OPENPSS_MQTT_URL for this broker."""
        return f"mqtt://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.directory}/",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            f"user {getpass.getuser()}",  # as root it would switch to the mosquitto user
        ]
        path = self.directory / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> None:
        """Start the broker and wait until it accepts connections."""
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [self.program, "-c", str(self._config())]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read() if self.process.stderr else b""
                raise RuntimeError(f"mosquitto exited: {error!r}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """SIGTERM (mosquitto saves its sessions when persistence is on) and wait."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


@contextmanager
def running_broker(directory: Path, *, persistence: bool = False) -> Iterator[Broker]:
    """A started broker (the test fails in CI and skips locally without mosquitto)."""
    sbin = Path("/usr/sbin/mosquitto")  # Debian installs it outside a user's PATH
    hint = "apt-get install -y mosquitto"
    program = str(sbin) if sbin.exists() else require_program("mosquitto", hint)
    broker = Broker(program, directory, persistence=persistence)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
