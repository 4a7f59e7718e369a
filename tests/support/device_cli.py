"""A virtual device's CLI as a child process, until its HTTP port answers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from tests.support.ports import free_port

PASSWORD = "Cli12345"
runner = CliRunner()


def interrupt(child: subprocess.Popen[Any], timeout: float = 30) -> None:
    """Stop ``child`` as Ctrl-C would (it stops its own children); kill it if it hangs."""
    child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


@contextmanager
def process(
    name: str, args: list[str], http: int, *, admin_password: str | None = PASSWORD
) -> Iterator[str]:
    """A device CLI as a child process, until its HTTP port answers.

    ``admin_password`` goes in through the environment; None starts the unit without one, so it
    keeps the password it stored (or a test passes ``--admin-password`` in ``args``).
    """
    command = [sys.executable, "-m", "openpss.cli", "device", name, *args]
    env = {k: v for k, v in os.environ.items() if k != "OPENPSS_DEVICE_ADMIN_PASSWORD"}
    if admin_password is not None:
        env["OPENPSS_DEVICE_ADMIN_PASSWORD"] = admin_password
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{http}"
    try:
        for _ in range(900):
            try:
                httpx.get(f"{url}/cgi-bin/magicBox.cgi?action=getSerialNo", timeout=1)
                break
            except httpx.TransportError:
                if child.poll() is not None:
                    output = child.stdout.read().decode() if child.stdout else ""
                    raise AssertionError(f"{name} exited: {output}") from None
                time.sleep(0.1)
        yield url
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=20)


def vto_process(data_dir: Path, sip: int, http: int, rtsp: int) -> Any:
    args = ["--data-dir", str(data_dir), "--http-port", str(http), "--dhip-port"]
    args += [str(free_port()), "--rtsp-port", str(rtsp), "--sip-port", str(sip)]
    return process("vto", [*args, "--fps", "10"], http)
