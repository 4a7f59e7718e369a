"""A virtual attendance terminal as a child process that can be killed and started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.polling import eventually
from tests.support.ports import free_port

ADMIN_PASSWORD = "Term1nal!pass"
OPENPSS = str(Path(sys.executable).with_name("openpss"))


@dataclass
class Terminal:
    """A virtual attendance terminal process that can be killed and started again."""

    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            OPENPSS, "device", "attendance", "--listen", f"127.0.0.1:{self.port}",
            "--data-dir", str(self.data_dir), "--admin-password", ADMIN_PASSWORD,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        eventually(self._listening, what="the terminal listening", timeout=30, interval=0.1)

    def _listening(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"terminal exited: {self.process.stderr.read()!r}")  # type: ignore[union-attr]
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.process = None

    def present_card(self, card: str) -> dict[str, object]:
        auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
        response = httpx.post(
            f"{self.url}/openpss/control/present", json={"card": card}, auth=auth, timeout=10
        )
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(free_port(), tmp_path / "terminal")
    term.start()
    yield term
    term.kill()
