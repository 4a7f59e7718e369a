"""`openpss device vto` as a subprocess, driven by the control commands (press, dial, keypad,
swipe, finger, tamper, door, exit-button, status --json); state kept across a restart."""

from __future__ import annotations

import json
import os
import time
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from openpss.devices.vto.cli import vto_app
from tests.support import device_cli
from tests.support.ports import free_port

PASSWORD = "Cli12345"


runner = CliRunner()


def vto_process(data_dir: Path, *extra: str) -> AbstractContextManager[str]:
    """The VTO CLI as a child process on free ports, until it answers HTTP."""
    http = free_port()
    args = ["--data-dir", str(data_dir), "--listen", "127.0.0.1", "--http-port", str(http)]
    args += ["--dhip-port", str(free_port()), "--rtsp-port", str(free_port())]
    args += ["--sip-port", str(free_port()), "--fps", "5", *extra]
    return device_cli.process("vto", args, http, admin_password=None)


def wait_idle(dev: tuple[str, str]) -> None:
    for _ in range(300):
        if json.loads(cli("status", "--json", *dev)[1])["call"]["state"] == "idle":
            return
        time.sleep(0.05)
    raise AssertionError("the call did not end")


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(
        vto_app, list(args), env={**os.environ, "OPENPSS_DEVICE_ADMIN_PASSWORD": PASSWORD}
    )
    return result.exit_code, result.output


def test_cli_drives_the_unit_and_state_survives_restart(tmp_path: Path) -> None:
    with vto_process(tmp_path, "--admin-password", PASSWORD, "--vto-number", "8002") as url:
        dev = ("--device", url)
        code, out = cli("status", "--json", *dev)
        status = json.loads(out)
        assert code == 0 and status["registered"] is True and status["vto_number"] == "8002"
        assert status["call"] == {"state": "idle", "peer": ""} and status["door"] == "closed"
        assert set(status["rtp"]) == {"audio_in", "audio_out", "video_out"}
        assert cli("rooms", "--batch", "2,2,101,201", *dev)[0] == 0
        code, out = cli("vtos", "--add", "8003:vto3-pw:10.0.0.3", *dev)
        assert code == 0 and json.loads(out)["vtos"] == ["8002", "8003"]
        code, out = cli("vtos", "--remove", "8002", *dev)
        assert code == 1 and "must stay" in out
        code, out = cli("vtos", "--add", "101", *dev)
        assert code == 1 and "101 is a room number" in out
        listing = json.loads(cli("rooms", *dev)[1])
        assert [r["number"] for r in listing["rooms"]] == ["101", "102", "201", "202"]
        assert cli("facade", "camera:888888,button2:101:102,keyboard,card", *dev)[0] == 0
        code, out = cli(
            "press", "3", *dev
        )  # key 3 = room 102: no VTH registered, the server says 480
        assert code == 0 and json.loads(out).startswith("VTO")
        code, out = cli("dial", "555", *dev)
        assert code == 1 and "room 555 is not in the room list" in out
        wait_idle(dev)
        code, out = cli("keypad", "201{call}", *dev)
        assert code == 0, out
        wait_idle(dev)
        auth = httpx.DigestAuth("admin", PASSWORD)
        log = httpx.get(
            f"{url}/cgi-bin/recordFinder.cgi?action=find&name=VideoTalkLog", auth=auth
        ).text
        assert "records[0].PeerNumber=102" in log and "records[1].PeerNumber=201" in log
        assert "records[0].EndState=Failed" in log
        assert cli("swipe", "BAD1", *dev)[0] == 1  # unknown card: refused, exit code 1
        fingerprint = tmp_path / "finger.bin"
        fingerprint.write_bytes(b"x" * 32)
        assert cli("finger", str(fingerprint), *dev)[0] == 1
        assert cli("exit-button", *dev)[0] == 0
        assert cli("door", "open", *dev)[0] == 0
        assert json.loads(cli("status", "--json", *dev)[1])["door"] == "open"
        assert cli("tamper", *dev)[0] == 0
        assert json.loads(cli("status", "--json", *dev)[1])["alarm_sounding"] is True
        assert cli("status", "--device", url, "--http-password", "Wrong123")[0] == 1
    with vto_process(tmp_path) as url:  # no --admin-password: the stored one stays
        code, out = cli("status", "--json", "--device", url)
        assert code == 0 and json.loads(out)["vto_number"] == "8002"


def test_uninitialized_unit_refuses_the_api(tmp_path: Path) -> None:
    with vto_process(tmp_path) as url:
        response = httpx.get(f"{url}/cgi-bin/magicBox.cgi?action=getDeviceType")
        assert response.status_code == 401 and "not initialized" in response.text
        initialized = httpx.post(
            f"{url}/openpss/control/initialize", json={"password": "Init1234", "email": "a@b.cd"}
        )
        assert initialized.json() == {"initialized": True}
        auth = httpx.DigestAuth("admin", "Init1234")
        assert httpx.get(f"{url}/cgi-bin/magicBox.cgi?action=getDeviceType", auth=auth).text == (
            "type=VTO4202F-MB5\r\n"
        )


def test_bad_start_options_are_explained(tmp_path: Path) -> None:
    result = runner.invoke(
        vto_app,
        ["--data-dir", str(tmp_path), "--admin-password", PASSWORD, "--vto-number", "123456"],
    )
    assert result.exit_code != 0 and "1-5 digits" in result.output


def test_port_in_use_is_explained(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ports = ["--dhip-port", str(port), "--http-port", "0", "--rtsp-port", "0"]
        result = runner.invoke(vto_app, ["--data-dir", str(tmp_path), *ports, "--sip-port", "0"])
    assert result.exit_code == 1
    assert f"the door station cannot listen: DHIP on 127.0.0.1:{port}: " in result.output
    assert "in use" in result.output


def test_demo_banner_press_command_works_as_printed(tmp_path: Path) -> None:
    import shlex

    from openpss.commands.demo import DEMO_DEVICE_PASSWORD, banner, seed_vto

    with vto_process(tmp_path, "--admin-password", DEMO_DEVICE_PASSWORD) as url:
        seed_vto(url)
        seed_vto(url)  # idempotent, as the demo restarts with its data
        port = int(url.rsplit(":", 1)[1])
        text = banner("http://x/", "http://y", camera_control_port=None, vto_ports=(port, 1, 2, 3))
        line = next(x for x in text.splitlines() if "press a call key:" in x)
        words = shlex.split(line.split("press a call key:")[1])
        assert words[:3] == ["openpss", "device", "vto"]
        result = runner.invoke(vto_app, words[3:], env={"OPENPSS_DEVICE_ADMIN_PASSWORD": ""})
        assert result.exit_code == 0, result.output
        auth = httpx.DigestAuth("admin", DEMO_DEVICE_PASSWORD)
        status = httpx.get(f"{url}/openpss/control/status", auth=auth).json()
        assert status["call"]["peer"] == "101"  # key 1 called room 101 (no VTH yet: it fails)
        rooms = httpx.get(f"{url}/openpss/control/rooms", auth=auth).json()["rooms"]
        assert [r["number"] for r in rooms] == ["101", "102", "201", "202"]
