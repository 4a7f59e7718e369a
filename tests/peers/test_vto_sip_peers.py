"""The door station against real SIP peers: a baresip VTH auto-answers (audio both ways), and
the VTO registers to Kamailio and calls through it."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest

from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.sip import attach_sip
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UaCall, UserAgent
from tests.peers.baresip_support import Baresip, wav_rms
from tests.peers.kamailio_support import Kamailio
from tests.support.peers import require_program
from tests.support.polling import eventually_async
from tests.support.ports import free_port
from tests.support.vto_device import RunningVto, running_vto

pytestmark = pytest.mark.peers

SMALL = {0: (320, 180), 1: (320, 180)}


def decoded_rms(directory: Path) -> float:
    """RMS of baresip's first decoded-audio dump (0 while there is none)."""
    dumps = sorted(directory.glob("dump-*dec.wav"))
    try:
        return wav_rms(dumps[0]) if dumps else 0.0
    except (EOFError, OSError, ValueError, wave.Error):
        return 0.0


async def sip_port(vto: RunningVto) -> int:
    await eventually_async(
        lambda: vto.thread.runtime.sip_server is not None, what="the VTO's SIP server", timeout=60
    )
    return int(vto.thread.runtime.sip_server.port)


async def test_baresip_vth_auto_answers_and_audio_flows_both_ways(tmp_path: Path) -> None:
    with running_vto(
        tmp_path / "vto", fps=10, stream_sizes=SMALL, extra_services=[attach_sip]
    ) as vto:
        vto.control("rooms", add=[{"number": "101", "register_password": "vth-pw"}])
        vto.control("facade", modules=[{"type": "button1", "keys": ["101"]}])
        vth = Baresip(
            tmp_path / "vth",
            user="101",
            password="vth-pw",
            server_port=await sip_port(vto),
            answermode="auto",
        )
        try:
            await vth.start()
            server = vto.thread.runtime.sip_server
            await eventually_async(
                lambda: server.location.is_online("101"), what="baresip's registration", timeout=60
            )
            assert vto.control("press", button=2).status_code == 200
            await eventually_async(
                lambda: vto.station.call_state.value == "talking", what="the answer", timeout=60
            )
            await eventually_async(
                lambda: vto.station.rtp["audio_in"] > 100,
                what="baresip's audio at the VTO",
                timeout=60,
            )
            await eventually_async(
                lambda: vto.station.rtp["audio_out"] > 100, what="the VTO's audio out", timeout=60
            )
            vto.control("press", button=2)  # hang up from the door
            await eventually_async(
                lambda: vto.station.call_state.value == "idle", what="the hang-up", timeout=60
            )
            # the VTO's 440 Hz tone, decoded by baresip (its dump is complete after the BYE)
            await eventually_async(
                lambda: decoded_rms(tmp_path / "vth") > 500,
                what="the tone in baresip's dump",
                timeout=60,
            )
        finally:
            await vth.stop()
        record = vto.station.find_records("call")[0]
        assert record.data["EndState"] == "Received" and record.data["TalkTime"] >= 0


async def test_vto_registers_to_kamailio_and_calls_through_it(tmp_path: Path) -> None:
    binary = require_program("kamailio", "apt-get install -y kamailio")
    accounts = {"8001": "vto-pw", "9901#0": "vth-pw"}
    kamailio = Kamailio(tmp_path / "kamailio", port=free_port(), accounts=accounts)
    await kamailio.start(binary)

    def as_user_agent(station: DoorStation) -> None:
        station.set_sip_server(
            enabled=False,
            address="127.0.0.1",
            port=kamailio.port,
            domain="127.0.0.1",
            login_user="8001",
            login_password="vto-pw",
        )

    vth = UserAgent(
        username="9901#0",
        password="vth-pw",
        server=Peer("UDP", "127.0.0.1", kamailio.port),
        domain="127.0.0.1",
        auto_answer=True,
        media_ports={"audio": free_port(), "video": free_port()},
    )
    answered: list[UaCall] = []
    vth.on_call = answered.append
    try:
        with running_vto(
            tmp_path / "vto",
            configure=as_user_agent,
            fps=10,
            stream_sizes=SMALL,
            extra_services=[attach_sip],
        ) as vto:
            await eventually_async(
                lambda: vto.station.registered, what="registration at Kamailio", timeout=60
            )
            assert not vto.station.is_sip_server
            await vth.start("127.0.0.1", 0)
            await vth.register()
            assert vto.control("dial", number="9901#0").status_code == 200
            await eventually_async(
                lambda: vto.station.call_state.value == "talking", what="the answer", timeout=60
            )
            assert answered and answered[0].caller == "8001"
            await eventually_async(
                lambda: vto.station.rtp["video_out"] > 0, what="video towards the VTH", timeout=60
            )
            await answered[0].hangup()
            await eventually_async(
                lambda: vto.station.call_state.value == "idle", what="the VTH's hang-up", timeout=60
            )
            assert vto.station.find_records("call")[0].data["EndState"] == "Received"
    finally:
        await vth.close()
        await kamailio.stop()


async def test_wrong_password_at_kamailio_is_not_registered(tmp_path: Path) -> None:
    binary = require_program("kamailio", "apt-get install -y kamailio")
    kamailio = Kamailio(tmp_path / "kamailio", port=free_port(), accounts={"8001": "vto-pw"})
    await kamailio.start(binary)

    def wrong(station: DoorStation) -> None:
        station.set_sip_server(
            enabled=False,
            address="127.0.0.1",
            port=kamailio.port,
            domain="127.0.0.1",
            login_user="8001",
            login_password="nope",
        )

    try:
        with running_vto(tmp_path / "vto", configure=wrong, extra_services=[attach_sip]) as vto:
            await eventually_async(
                lambda: vto.thread.runtime.sip_link is not None, what="the SIP link", timeout=60
            )
            link = vto.thread.runtime.sip_link
            await eventually_async(
                lambda: link.register_failures >= 1, what="a refused registration", timeout=60
            )
            assert "401" in link.last_register_error or "403" in link.last_register_error
            assert not vto.station.registered
            response = vto.control("dial", number="9901#0")
            assert response.status_code == 422 and "not registered" in response.json()["detail"]
    finally:
        await kamailio.stop()
