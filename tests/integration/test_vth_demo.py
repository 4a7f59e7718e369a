"""`openpss demo` seeds building 01 / unit 01 / room 101 with registration numbers and starts
the door station and two indoor monitors of room 101 (01#01#101#0, 01#01#101#1): all three
register with the platform's SIP server, and the door station's call key rings both monitors
through the platform (issue 13's done-when)."""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from openpss.commands.demo import DEMO_DEVICE_PASSWORD
from openpss.devices.vth.cli import vth_app
from openpss.devices.vto.cli import vto_app
from tests.support.device_cli import interrupt
from tests.support.polling import eventually
from tests.support.ports import free_port, free_ports


def printed(banner: Path, label: str) -> None:
    """Run the `openpss device vth|vto ...` command the demo printed after ``label``."""
    line = next(x for x in banner.read_text().splitlines() if x.strip().startswith(label))
    words = shlex.split(line.split(label, 1)[1])
    assert words[:2] == ["openpss", "device"] and words[2] in ("vth", "vto"), line
    app = vth_app if words[2] == "vth" else vto_app
    result = CliRunner().invoke(app, words[3:], env={"OPENPSS_DEVICE_ADMIN_PASSWORD": ""})
    assert result.exit_code == 0, result.output


def _openpss(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "openpss.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


@dataclass
class Demo:
    """`openpss demo` (no camera) as a child process on free loopback ports; its stdout (the
    banner) and stderr (the log of the demo and its devices) go to files in ``tmp_path``."""

    tmp_path: Path
    console: int = field(default_factory=free_port)
    vto: int = field(default_factory=free_port)
    platform_sip: int = field(default_factory=free_port)
    vth: int = field(default_factory=lambda: free_ports(2))  # the second monitor: + 1
    vth_sip: int = field(default_factory=lambda: free_ports(2))

    def __post_init__(self) -> None:
        self.banner, self.log = self.tmp_path / "banner.txt", self.tmp_path / "demo.log"
        self.env = {
            **os.environ,
            "OPENPSS_ENVIRONMENT": "development",
            "OPENPSS_DATA_DIR": str(self.tmp_path / "var"),
            "OPENPSS_HTTP_PORT": str(self.console),
            "OPENPSS_SIP_PORT": str(self.platform_sip),  # the platform's SIP server
        }

    def start(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable, "-m", "openpss.cli", "demo", "--no-camera",
            "--terminal-port", str(free_port()), "--vto-port", str(self.vto),
            "--vto-dhip-port", str(free_port()), "--vto-rtsp-port", str(free_port()),
            "--vto-sip-port", str(free_port()), "--vth-port", str(self.vth),
            "--vth-sip-port", str(self.vth_sip),
        ]  # fmt: skip
        with self.banner.open("wb") as out, self.log.open("wb") as err:
            return subprocess.Popen(  # its own process group, as a shell job: see Ctrl-C
                command, env=self.env, stdout=out, stderr=err, start_new_session=True
            )

    def log_tail(self, lines: int = 80) -> str:
        """The end of the demo's log, request lines left out."""
        text = self.log.read_text(errors="replace").splitlines()
        kept = [x for x in text if "HTTP Request:" not in x]
        return "\n".join(["--- the end of the demo's log ---", *kept[-lines:]])


def test_demo_registers_vto_and_vths_with_the_platform_and_a_room_call_rings_both(
    tmp_path: Path,
) -> None:
    demo = Demo(tmp_path)
    process = demo.start()
    vth, vto, console, env, banner = demo.vth, demo.vto, demo.console, demo.env, demo.banner
    platform_sip = demo.platform_sip
    auth = httpx.DigestAuth("admin", DEMO_DEVICE_PASSWORD)

    def vth_status(index: int) -> Any:
        url = f"http://127.0.0.1:{vth + index}/openpss/control/status"
        return httpx.get(url, auth=auth, timeout=5).json()

    def vto_status() -> Any:
        url = f"http://127.0.0.1:{vto}/openpss/control/status"
        return httpx.get(url, auth=auth, timeout=5).json()

    try:
        eventually(
            lambda: all(vth_status(i)["registered"] for i in (0, 1)),
            what="both indoor monitors registered",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        eventually(
            lambda: vto_status()["registered"],
            what="the door station registered",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        assert not vto_status()["sip_server"]  # a user agent of the platform, not a server
        assert [vth_status(i)["room"] for i in (0, 1)] == ["01#01#101#0", "01#01#101#1"]
        assert {vth_status(i)["sip_server"] for i in (0, 1)} == {f"127.0.0.1:{platform_sip}"}
        # the platform sees all three online under their registration numbers
        _openpss(env, "account", "create-admin", "--password", "Adm1n!Secure")
        token = _openpss(env, "account", "token", "admin", "--name", "t").strip().splitlines()[-1]
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{console}", headers={"Authorization": f"Bearer {token}"}
        )

        def online() -> set[str]:
            page = api.get("/api/v1/intercom/registrations").json()
            return {r["number"] for r in page["items"] if r["online"]}

        eventually(
            lambda: online() >= {"01#01#8001", "01#01#101#0", "01#01#101#1"},
            what="all three online on the platform",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        printed(banner, "press a call key:")  # key 1: room 101, through the platform
        eventually(
            lambda: all(vth_status(i)["call"]["state"] == "ringing" for i in (0, 1)),
            what="both ringing",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        printed(banner, "answer a call:")  # the banner's command, run as printed
        eventually(
            lambda: vth_status(0)["call"]["state"] == "talking",
            what="talking",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        eventually(
            lambda: vth_status(1)["call"]["state"] == "idle",
            what="the extension idle",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        httpx.post(f"http://127.0.0.1:{vth}/openpss/control/hangup", auth=auth, timeout=5)
        eventually(
            lambda: vth_status(0)["call"]["state"] == "idle",
            what="idle",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        eventually(
            lambda: vto_status()["call"]["state"] == "idle",
            what="the door station idle",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
        # a visitor call to the centre rings the console (888888); unanswered, the console
        # stores it as missed (a number nobody could ring would end failed or busy)
        printed(banner, "call the centre:")
        assert vto_status()["call"]["peer"] == "888888"

        def centre_calls() -> list[tuple[str, str, str]]:
            items = api.get("/api/v1/records/calls").json()["items"]
            return [
                (c["caller"], c["callee"], c["status"]) for c in items if c["callee"] == "888888"
            ]

        eventually(
            centre_calls, what="the centre call's record", timeout=120, retry_on=(httpx.HTTPError,)
        )
        assert centre_calls() == [("01#01#8001", "888888", "missed")]
        printed(banner, "monitor the door:")
        eventually(
            lambda: vth_status(0)["rtp"]["video_frames"] > 3,
            what="decoded frames of the door",
            timeout=120,
            retry_on=(httpx.HTTPError,),
        )
    except AssertionError:
        print(demo.log_tail())  # shown with the failure: the demo's and its devices' errors
        raise
    finally:
        interrupt(process)


@pytest.mark.parametrize("server", ["HTTP", "SIP"])
def test_a_monitor_that_cannot_bind_a_port_stops_the_demo_at_start(
    tmp_path: Path, server: str
) -> None:
    demo = Demo(tmp_path)
    port = (demo.vth if server == "HTTP" else demo.vth_sip) + 1  # the second monitor's
    kind = socket.SOCK_STREAM if server == "HTTP" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as taken:  # bound by someone else
        taken.bind(("127.0.0.1", port))
        process = demo.start()
        try:
            code = process.wait(timeout=120)
        finally:
            interrupt(process)
    log = demo.log.read_text()
    assert code == 1, demo.log_tail()
    reason = f"{server} on 127.0.0.1:{port}: Address already in use"
    assert f"the indoor monitor cannot listen: {reason}" in log
    assert "the indoor monitor 01#01#101#1 stopped (exit status 1); see its error" in log
    assert "the demo cannot start without the indoor monitor 01#01#101#1" in log
    with pytest.raises(httpx.TransportError):  # nothing is left running
        httpx.get(f"http://127.0.0.1:{demo.vth}/", timeout=2)


def _pid_of(marker: str) -> int:
    """The process whose command line contains ``marker``."""
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_text():
                return int(entry.name)
        except OSError:  # ended meanwhile
            continue
    raise AssertionError(f"no process with {marker!r}")


def test_a_device_that_dies_later_is_logged_and_ctrl_c_is_not_a_death(tmp_path: Path) -> None:
    demo = Demo(tmp_path)
    process = demo.start()
    try:
        eventually(
            lambda: "indoor monitors:" in demo.banner.read_text(),
            what="the demo's banner (every device started)",
            timeout=120,
        )
        os.kill(_pid_of(str(tmp_path / "var" / "devices" / "vth-01-01-101-1")), signal.SIGKILL)
        eventually(
            lambda: (
                "the indoor monitor 01#01#101#1 stopped (exit status -9)" in demo.log.read_text()
            ),
            what="the demo to log the monitor that died",
            timeout=60,
        )
        assert process.poll() is None  # the platform and the other devices go on
        httpx.get(f"http://127.0.0.1:{demo.vth}/", timeout=5)
        # Ctrl-C in a terminal interrupts the demo and its devices together: no device "stopped"
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=60) == 0
    except AssertionError:
        print(demo.log_tail())
        raise
    finally:
        interrupt(process)
    assert demo.log.read_text().count(" stopped (exit status") == 1, demo.log_tail()
