"""Indoor monitors on our door station acting as SIP server (realm VDP): registration, a room
call ringing master and extension together, answer with video and audio, unlock over SIP INFO,
do-not-disturb, calls from the VTH, platform messages over SIP MESSAGE, the RTSP monitor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openpss.devices.vth.model import IndoorMonitor
from openpss.devices.vth.settings import Door
from openpss.devices.vto.sip import attach_sip
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent
from tests.support.polling import eventually
from tests.support.vth_device import RunningVth, running_vth
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(
        tmp_path / "vto",
        fps=10,
        stream_sizes={0: (320, 180), 1: (320, 180)},
        extra_services=[attach_sip],
    ) as running:
        running.control("rooms", add=[{"number": "101#0"}, {"number": "101#1"}])
        running.control("facade", modules=[{"type": "button1", "keys": ["101"]}])
        yield running


def vto_sip(vto: RunningVto) -> tuple[str, int]:
    eventually(
        lambda: vto.thread.runtime.sip_server is not None, what="the VTO's SIP server", timeout=60
    )
    return "127.0.0.1", int(vto.thread.runtime.sip_server.port)


def door_of(vto: RunningVto) -> Door:
    port = int(vto.url.rsplit(":", 1)[1])
    return Door("gate", "127.0.0.1", port, vto.rtsp_port, password=VTO_PASSWORD)


@pytest.fixture
def pair(tmp_path: Path, vto: RunningVto) -> Iterator[tuple[RunningVth, RunningVth]]:
    server = vto_sip(vto)
    with (
        running_vth(tmp_path / "a", room="101#0", sip_server=server) as master,
        running_vth(tmp_path / "b", room="101#1", sip_server=server) as extension,
    ):
        eventually(lambda: master.status()["registered"], what="101#0 registered", timeout=60)
        eventually(lambda: extension.status()["registered"], what="101#1 registered", timeout=60)
        yield master, extension


def test_room_call_rings_both_one_answers_media_and_unlock(
    vto: RunningVto, pair: tuple[RunningVth, RunningVth], tmp_path: Path
) -> None:
    master, extension = pair
    rooms = httpx.get(f"{vto.url}/openpss/control/rooms", auth=vto.auth()).json()["rooms"]
    assert {r["number"]: r["online"] for r in rooms} == {"101#0": True, "101#1": True}
    assert vto.control("press", button=2).status_code == 200
    eventually(
        lambda: master.status()["call"]["state"] == "ringing", what="the master ringing", timeout=60
    )
    eventually(
        lambda: extension.status()["call"]["state"] == "ringing",
        what="the extension ringing",
        timeout=60,
    )
    assert extension.control("answer").status_code == 200
    eventually(
        lambda: master.status()["call"]["state"] == "idle",
        what="the master to stop ringing",
        timeout=60,
    )
    eventually(
        lambda: vto.station.call_state.value == "talking", what="the VTO talking", timeout=60
    )

    def media_flows() -> bool:
        rtp = extension.status()["rtp"]
        return rtp["video_frames"] >= 5 and rtp["audio_in"] >= 20 and rtp["audio_out"] >= 20

    eventually(media_flows, what="video frames and audio at the answering VTH", timeout=60)
    assert extension.control("mute", on=True).status_code == 200
    time.sleep(0.3)  # packets already sent may still be counted
    muted_at = extension.status()["rtp"]["audio_out"]
    time.sleep(0.5)
    assert extension.status()["rtp"]["audio_out"] == muted_at  # muted: nothing sent
    extension.control("mute", on=False)
    eventually(
        lambda: extension.status()["rtp"]["audio_out"] > muted_at + 5,
        what="audio after unmute",
        timeout=60,
    )
    eventually(
        lambda: vto.station.rtp["audio_in"] >= 20, what="the VTH's audio at the VTO", timeout=60
    )
    snapshot = extension.control("snapshot", path=str(tmp_path / "snap.jpg"))
    assert snapshot.status_code == 200 and (tmp_path / "snap.jpg").read_bytes()[:2] == b"\xff\xd8"
    assert extension.control("unlock").status_code == 200
    eventually(
        lambda: vto.station.find_records("unlock"), what="the unlock record at the VTO", timeout=60
    )
    assert vto.station.find_records("unlock")[0].data["Method"] == 4  # remote
    assert extension.control("hangup").status_code == 200
    eventually(
        lambda: vto.station.call_state.value == "idle", what="the VTO back to idle", timeout=60
    )
    record = vto.station.find_records("call")[-1].data
    assert record["EndState"] == "Received"
    answered = extension.unit.find_records("call")[-1].data
    assert answered["EndState"] == "Received" and answered["PeerNumber"] == "8001"
    # the master got CANCEL with Reason cause=200 (RFC 3326): answered elsewhere, not missed
    assert master.unit.find_records("call")[-1].data["EndState"] == "AnsweredElsewhere"
    assert extension.unit.find_records("unlock")[-1].data["Method"] == "SIP"


def test_reject_dnd_and_call_from_the_vth(
    vto: RunningVto, pair: tuple[RunningVth, RunningVth]
) -> None:
    master, extension = pair
    assert master.control("dnd", on=True).status_code == 200
    vto.control("press", button=2)
    eventually(
        lambda: extension.status()["call"]["state"] == "ringing",
        what="the extension ringing",
        timeout=60,
    )
    assert master.status()["call"]["state"] == "idle"
    assert extension.control("reject").status_code == 200
    eventually(
        lambda: vto.station.call_state.value == "idle", what="the VTO to give up", timeout=60
    )
    assert master.unit.find_records("call")[-1].data["Reason"] == "do not disturb"
    refused = master.control("answer")
    assert refused.status_code == 422 and "no incoming call" in refused.json()["detail"]
    # Monitor > Door over SIP: the VTH calls the VTO's number; the VTO answers with video
    assert master.control("call", number="8001").status_code == 200
    eventually(
        lambda: master.status()["call"]["state"] == "talking", what="the VTO answering", timeout=60
    )
    eventually(
        lambda: master.status()["rtp"]["video_frames"] >= 3,
        what="video from the called VTO",
        timeout=60,
    )
    master.control("hangup")
    eventually(lambda: master.status()["call"]["state"] == "idle", what="hang-up", timeout=60)
    outgoing = master.unit.find_records("call")[-1].data
    assert outgoing["Type"] == "Outgoing" and outgoing["EndState"] == "Received"
    # room to room: the master calls its extension through the VTO's server
    assert master.control("call", number="101#1").status_code == 200
    eventually(
        lambda: extension.status()["call"]["state"] == "ringing",
        what="the extension ringing",
        timeout=60,
    )
    assert extension.status()["call"]["peer"] == "101#0"
    extension.control("answer")
    eventually(
        lambda: master.status()["call"]["state"] == "talking", what="the master talking", timeout=60
    )
    eventually(
        lambda: master.status()["rtp"]["audio_in"] > 20, what="the extension's audio", timeout=60
    )
    eventually(
        lambda: extension.status()["rtp"]["audio_in"] > 20, what="the master's audio", timeout=60
    )
    extension.control("hangup")
    eventually(
        lambda: master.status()["call"]["state"] == "idle", what="the far end's hang-up", timeout=60
    )


def test_platform_message_over_sip_and_http(pair: tuple[RunningVth, RunningVth]) -> None:
    master, _ = pair

    async def send(source: str = "127.0.0.1") -> int:
        platform = UserAgent(
            username="9901",
            password="x",
            server=Peer("UDP", "127.0.0.1", master.thread.runtime.sip_port),
            domain="VDP",
        )
        await platform.start(source, 0)
        try:
            from openpss.protocols.sip.message import Headers, SipRequest
            from openpss.protocols.sip.uri import SipUri

            uri = str(SipUri.for_number("101#0", "127.0.0.1", master.thread.runtime.sip_port))
            request = platform._request("MESSAGE", uri, uri, call_id="m1@test", cseq=1)
            body = b'{"type": "unlock_password", "room": "101", "password": "888888"}'
            request.set_body(body, "application/json")
            assert isinstance(request.headers, Headers) and isinstance(request, SipRequest)
            response = await platform.endpoint.request(request, platform.server)
            return response.status
        finally:
            await platform.close()

    assert asyncio.run(send("127.0.0.2")) == 403  # not from the SIP server's address
    assert not master.unit.messages
    assert asyncio.run(send()) == 200
    eventually(
        lambda: master.unit.unlock_passwords.get("101") == "888888",
        what="the stored password",
        timeout=60,
    )
    response = httpx.get(
        f"{master.url}/cgi-bin/messageManager.cgi",
        params={"action": "releaseInformation", "Subject": "Lift", "Content": "Lift B is out"},
        auth=master.auth(),
    )
    assert response.text.strip() == "OK"
    bad = httpx.get(
        f"{master.url}/cgi-bin/messageManager.cgi",
        params={"action": "addUnlockPassword", "Room": "101", "Password": "12"},
        auth=master.auth(),
    )
    assert bad.status_code == 400 and "6-8 digits" in bad.text
    messages = httpx.get(f"{master.url}/openpss/control/messages", auth=master.auth()).json()
    assert [(m["kind"], m["subject"]) for m in messages] == [
        ("unlock_password", "Unlock password"),
        ("information", "Lift"),
    ]


def test_monitor_a_door_over_rtsp_and_unlock_over_http(tmp_path: Path, vto: RunningVto) -> None:
    def add_door(unit: IndoorMonitor) -> None:
        unit.put_door(door_of(vto))

    with running_vth(
        tmp_path / "m", room="101#0", sip_server=vto_sip(vto), configure=add_door
    ) as vth:
        assert vth.control("monitor", door="gate").status_code == 200
        eventually(
            lambda: vth.status()["rtp"]["video_frames"] >= 10,
            what="decoded RTSP frames",
            timeout=60,
        )
        assert vth.status()["call"]["state"] == "monitoring"
        jpeg = httpx.get(f"{vth.url}/cgi-bin/snapshot.cgi", auth=vth.auth())
        assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"
        assert vth.control("unlock").status_code == 200
        eventually(
            lambda: vto.station.find_records("unlock"),
            what="the unlock record at the VTO",
            timeout=60,
        )
        assert vth.control("hangup").status_code == 200
        assert vth.status()["call"]["state"] == "idle"


def test_monitor_with_a_wrong_password_ends_with_the_reason(
    tmp_path: Path, vto: RunningVto
) -> None:
    def add_door(unit: IndoorMonitor) -> None:
        door = door_of(vto)
        door.password = "Wrong-pass1"
        unit.put_door(door)

    with running_vth(tmp_path / "w", room="101#0", sip_server=None, configure=add_door) as vth:
        assert vth.control("monitor").status_code == 200
        eventually(
            lambda: vth.status()["call"]["state"] == "idle",
            what="the monitor to give up",
            timeout=60,
        )
        error = vth.status()["monitor_error"]
        assert "401" in error or "Unauthorized" in error
        assert "Wrong-pass1" not in error
