"""Across processes: `openpss device vto` as SIP server (realm VDP) and two `openpss device vth`
of room 101 (101#0, 101#1), driven by the control commands. A call from the VTO rings both, one
answers, the other stops ringing, video frames and audio packets arrive at the answering VTH,
unlock from the VTH opens the VTO's door (an unlock record appears on the VTO); the VTH keeps
its state across a restart."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from openpss.devices.vth.cli import vth_app
from openpss.devices.vto.cli import vto_app
from tests.support.device_cli import PASSWORD, process, runner, vto_process
from tests.support.polling import eventually
from tests.support.ports import free_port

# each check is a CLI status round trip: a slower, longer poll than the default
poll = partial(eventually, timeout=90, interval=0.1)


def vth_process(data_dir: Path, room: str, sip_server: int, door: str = "") -> Any:
    http = free_port()
    args = ["--data-dir", str(data_dir), "--listen", "127.0.0.1", "--http-port", str(http)]
    args += ["--sip-port", str(free_port()), "--room", room]
    args += ["--sip-server", f"127.0.0.1:{sip_server}", "--realm", "VDP"]
    if door:
        args += ["--door", door, "--door-password", PASSWORD]
    return process("vth", args, http)


def cli(app: object, *args: str) -> str:
    env = {**os.environ, "OPENPSS_DEVICE_ADMIN_PASSWORD": PASSWORD}
    result = runner.invoke(app, list(args), env=env)  # type: ignore[arg-type]
    assert result.exit_code == 0, result.output
    return result.output


def status(url: str) -> dict[str, object]:
    return dict(json.loads(cli(vth_app, "status", "--json", "--device", url)))


def call_of(url: str) -> dict[str, str]:
    return status(url)["call"]  # type: ignore[return-value]


def rtp_of(url: str) -> dict[str, int]:
    return status(url)["rtp"]  # type: ignore[return-value]


def test_vto_rings_two_vth_processes_one_answers_media_unlock(tmp_path: Path) -> None:
    sip, vto_http, vto_rtsp = free_port(), free_port(), free_port()
    door = f"gate=127.0.0.1:{vto_http}:{vto_rtsp}"
    with ExitStack() as stack:
        vto = stack.enter_context(vto_process(tmp_path / "vto", sip, vto_http, vto_rtsp))
        cli(vto_app, "rooms", "--add", "101#0", "--add", "101#1", "--device", vto)
        cli(vto_app, "facade", "camera:101", "--device", vto)
        master = stack.enter_context(vth_process(tmp_path / "a", "101#0", sip, door))
        extension = stack.enter_context(vth_process(tmp_path / "b", "101#1", sip))
        poll(lambda: status(master)["registered"] and status(extension)["registered"], what="both")
        cli(vto_app, "press", "1", "--device", vto)
        poll(lambda: call_of(master)["state"] == "ringing", what="the master ringing")
        poll(lambda: call_of(extension)["state"] == "ringing", what="the extension ringing")
        assert call_of(master)["peer"] == "8001"
        cli(vth_app, "answer", "--device", master)
        poll(lambda: call_of(extension)["state"] == "idle", what="the extension to stop ringing")
        assert call_of(master)["state"] == "talking"

        def media() -> bool:
            rtp = rtp_of(master)
            return rtp["video_in"] > 20 and rtp["video_frames"] >= 5 and rtp["audio_in"] >= 20

        poll(media, what="video frames and audio at the answering VTH")
        assert rtp_of(master)["audio_out"] > 0 and rtp_of(extension)["video_in"] == 0
        cli(vth_app, "unlock", "--device", master)

        def unlocked() -> bool:
            found = httpx.get(
                f"{vto}/cgi-bin/recordFinder.cgi",
                params={"action": "find", "name": "AccessControlCardRec"},
                auth=httpx.DigestAuth("admin", PASSWORD),
                timeout=10,
            ).text
            return "Method=4" in found

        poll(unlocked, what="the unlock record at the VTO")
        cli(vth_app, "snapshot", str(tmp_path / "call.jpg"), "--device", master)
        assert (tmp_path / "call.jpg").read_bytes()[:2] == b"\xff\xd8"
        cli(vth_app, "hangup", "--device", master)
        poll(lambda: call_of(master)["state"] == "idle", what="hang-up")
        # do-not-disturb on the extension: only the master rings; it rejects (busy)
        cli(vth_app, "dnd", "--device", extension)
        cli(vto_app, "press", "1", "--device", vto)
        poll(lambda: call_of(master)["state"] == "ringing", what="the master ringing again")
        assert call_of(extension)["state"] == "idle"
        cli(vth_app, "reject", "--device", master)

        def vto_state() -> str:
            return str(
                json.loads(cli(vto_app, "status", "--json", "--device", vto))["call"]["state"]
            )

        poll(lambda: vto_state() == "idle", what="the VTO to give up")
        # Monitor > Door over RTSP, then a call to the door by its VTO number
        cli(vth_app, "monitor", "gate", "--device", master)
        poll(lambda: rtp_of(master)["video_frames"] >= 5, what="decoded frames of the door")
        cli(vth_app, "hangup", "--device", master)
        cli(vth_app, "call", "8001", "--device", master)
        poll(lambda: call_of(master)["state"] == "talking", what="the door answering")
        cli(vth_app, "hangup", "--device", master)
    # the VTH's flash keeps room and records across a restart
    with vth_process(tmp_path / "a", "101#0", sip) as again:  # no VTO: offline, records kept
        assert status(again)["room"] == "101#0"
        records = httpx.get(
            f"{again}/openpss/control/records",
            params={"kind": "call"},
            auth=httpx.DigestAuth("admin", PASSWORD),
        ).json()
        ends = [(r["Type"], r["EndState"]) for r in records]
        assert ends == [
            ("Incoming", "Received"),
            ("Incoming", "Rejected"),
            ("Outgoing", "Received"),
        ]
