"""`openpss demo` starts two indoor monitors of room 101 (101#0, 101#1) next to the door
station: both register to it, and its call key rings both."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from openpss.commands.demo import DEMO_DEVICE_PASSWORD
from openpss.devices.vth.cli import vth_app
from tests.peers.sip_support import free_port


def until(what: str, predicate: Callable[[], object], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def printed(banner: Path, label: str) -> None:
    """Run the `openpss device vth ...` command the demo printed after ``label``."""
    line = next(x for x in banner.read_text().splitlines() if x.strip().startswith(label))
    words = shlex.split(line.split(label, 1)[1])
    assert words[:3] == ["openpss", "device", "vth"], line
    result = CliRunner().invoke(vth_app, words[3:])
    assert result.exit_code == 0, result.output


def test_demo_starts_two_vths_of_room_101_that_ring_together(tmp_path: Path) -> None:
    console, vto, vth = free_port(), free_port(), free_port()
    while vth + 1 in (console, vto):  # the second monitor listens on vth + 1
        vth = free_port()
    env = {
        **os.environ,
        "OPENPSS_ENVIRONMENT": "development",
        "OPENPSS_DATA_DIR": str(tmp_path / "var"),
        "OPENPSS_HTTP_PORT": str(console),
    }
    sip = free_port()
    command = [
        sys.executable, "-m", "openpss.cli", "demo", "--no-camera",
        "--terminal-port", str(free_port()), "--vto-port", str(vto),
        "--vto-dhip-port", str(free_port()), "--vto-rtsp-port", str(free_port()),
        "--vto-sip-port", str(free_port()), "--vth-port", str(vth), "--vth-sip-port", str(sip),
    ]  # fmt: skip
    banner = tmp_path / "banner.txt"
    with banner.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.DEVNULL)
    auth = httpx.DigestAuth("admin", DEMO_DEVICE_PASSWORD)

    def vth_status(index: int) -> Any:
        url = f"http://127.0.0.1:{vth + index}/openpss/control/status"
        return httpx.get(url, auth=auth, timeout=5).json()

    try:
        until("both indoor monitors registered", lambda: all(
            vth_status(i)["registered"] for i in (0, 1)
        ))  # fmt: skip
        assert [vth_status(i)["room"] for i in (0, 1)] == ["101#0", "101#1"]
        press = httpx.post(
            f"http://127.0.0.1:{vto}/openpss/control/press", json={"button": 1}, auth=auth
        )
        assert press.status_code == 200, press.text
        until("both ringing", lambda: all(
            vth_status(i)["call"]["state"] == "ringing" for i in (0, 1)
        ))  # fmt: skip
        printed(banner, "answer a call:")  # the banner's command, run as printed
        until("talking", lambda: vth_status(0)["call"]["state"] == "talking")
        until("the extension idle", lambda: vth_status(1)["call"]["state"] == "idle")
        httpx.post(f"http://127.0.0.1:{vth}/openpss/control/hangup", auth=auth, timeout=5)
        until("idle", lambda: vth_status(0)["call"]["state"] == "idle")
        printed(banner, "monitor the door:")
        until("decoded frames of the door", lambda: vth_status(0)["rtp"]["video_frames"] > 3)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
