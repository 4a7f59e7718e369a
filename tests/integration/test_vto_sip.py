"""The door station on our SIP stack: as SIP server its rooms register; a call carries media
both ways, DTMF # from the VTH unlocks, and the far end's hang-up ends the call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from openpss.devices.vto.entities import VtoEntry
from openpss.devices.vto.sip import attach_sip
from openpss.protocols.aio import within
from openpss.protocols.rtp.codec import RtpPacket, is_rtcp
from openpss.protocols.sip.sdp import SessionDescription
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UaCall, UserAgent
from tests.support.polling import eventually_async
from tests.support.vto_device import RunningVto, running_vto


class Counter(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets: list[bytes] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not is_rtcp(data):
            self.packets.append(data)


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(
        tmp_path, fps=10, stream_sizes={0: (320, 180), 1: (320, 180)}, extra_services=[attach_sip]
    ) as running:
        running.control("rooms", add=[{"number": "101"}])
        running.control("facade", modules=[{"type": "button1", "keys": ["101"]}])
        yield running


def sip_port(vto: RunningVto) -> int:
    for _ in range(500):
        server = vto.thread.runtime.sip_server
        if server is not None:
            return int(server.port)
        threading.Event().wait(0.02)  # blocking is fine: the VTO runs in its own thread
    raise AssertionError("the VTO's SIP server did not start")


async def test_vth_registers_answers_media_both_ways_unlock_and_hangup(vto: RunningVto) -> None:
    loop = asyncio.get_running_loop()
    _, audio = await loop.create_datagram_endpoint(Counter, local_addr=("127.0.0.1", 0))
    _, video = await loop.create_datagram_endpoint(Counter, local_addr=("127.0.0.1", 0))
    assert audio.transport and video.transport
    ports = {
        "audio": audio.transport.get_extra_info("sockname")[1],
        "video": video.transport.get_extra_info("sockname")[1],
    }
    vth = UserAgent(
        username="101",
        password="123456",
        server=Peer("UDP", "127.0.0.1", sip_port(vto)),
        domain="VDP",
        auto_answer=True,
        media_ports=ports,
    )
    answered: list[UaCall] = []
    vth.on_call = answered.append
    await vth.start("127.0.0.1", 0)
    try:
        await vth.register()
        listing = httpx.get(f"{vto.url}/openpss/control/rooms", auth=vto.auth()).json()
        assert listing["rooms"] == [
            {"number": "101", "first_name": "", "last_name": "", "nick_name": "", "online": True}
        ]
        assert listing["vtos"][0]["rec_no"] == "8001" and listing["vtos"][0]["online"] is True
        assert vto.control("press", button=2).status_code == 200
        await eventually_async(lambda: answered, what="the INVITE at the VTH", timeout=60)
        await eventually_async(
            lambda: vto.station.call_state.value == "talking", what="talking", timeout=60
        )
        call = answered[0]
        offer = SessionDescription.parse(call.remote_sdp)
        vto_audio = offer.first("audio")
        assert vto_audio is not None
        for seq in range(20):  # the VTH's microphone: PCMU towards the VTO
            packet = RtpPacket(0, seq, seq * 160, 1234, bytes([0xFF]) * 160)
            audio.transport.sendto(bytes(packet), ("127.0.0.1", vto_audio.port))
        await eventually_async(
            lambda: vto.station.rtp["audio_in"] >= 20, what="audio at the VTO", timeout=60
        )
        await eventually_async(
            lambda: len(audio.packets) > 10 and len(video.packets) > 5, what="VTO media", timeout=60
        )
        assert {RtpPacket.parse(p).payload_type for p in audio.packets} == {0}
        assert {RtpPacket.parse(p).payload_type for p in video.packets} == {96}
        status = vto.station.status()
        assert status["rtp"]["audio_out"] > 0 and status["rtp"]["video_out"] > 0
        await call.send_dtmf("#")
        await eventually_async(
            lambda: vto.station.find_records("unlock"), what="the unlock record", timeout=60
        )
        assert vto.station.find_records("unlock")[0].data["Method"] == 4
        await call.hangup()
        await eventually_async(
            lambda: vto.station.call_state.value == "idle", what="the call to end", timeout=60
        )
        record = vto.station.find_records("call")[0]
        assert record.data["EndState"] == "Received" and record.data["PeerNumber"] == "101"
    finally:
        await vth.close()
        audio.transport.close()
        video.transport.close()


async def test_unregistered_room_fails_and_ring_cancel(vto: RunningVto) -> None:
    port = sip_port(vto)
    vto.control("dial", number="101")  # nobody registered for 101: the server answers 480
    await eventually_async(
        lambda: vto.station.call_state.value == "idle", what="the failed call", timeout=60
    )
    assert vto.station.find_records("call")[0].data["EndState"] == "Failed"
    vth = UserAgent(
        username="101", password="123456", server=Peer("UDP", "127.0.0.1", port), domain="VDP"
    )
    await vth.start("127.0.0.1", 0)
    try:
        await vth.register()
        vto.control("press", button=2)
        incoming = await within(vth.incoming.get(), 15)
        vto.control("press", button=2)  # the call key again: stop ringing
        await within(incoming.ended.wait(), 15)
        assert incoming.end_reason == "cancelled"
        assert vto.station.find_records("call")[-1].data["EndState"] == "Cancelled"
    finally:
        await vth.close()


async def test_wrong_register_password_is_refused(vto: RunningVto) -> None:
    from openpss.protocols.sip.ua import RegistrationError

    vth = UserAgent(
        username="101", password="bad", server=Peer("UDP", "127.0.0.1", sip_port(vto)), domain="VDP"
    )
    await vth.start("127.0.0.1", 0)
    try:
        with pytest.raises(RegistrationError):
            await vth.register()
    finally:
        await vth.close()


async def test_alternate_server_takes_over_when_the_main_one_is_silent(tmp_path: Path) -> None:
    from openpss.devices.vto.model import DoorStation
    from openpss.protocols.sip.accounts import StaticAccounts
    from openpss.protocols.sip.server import SipServer
    from openpss.protocols.sip.transaction import Timers
    from tests.support.ports import free_port

    alternate = SipServer(realm="VDP", accounts=StaticAccounts({"8001": "alt-pw"}))
    await alternate.start("127.0.0.1", 0)
    dead = free_port()  # nobody answers there

    def with_alternate(station: DoorStation) -> None:
        station.set_sip_server(
            enabled=False,
            address="127.0.0.1",
            port=dead,
            domain="VDP",
            login_password="main-pw",
            alternate_enabled=True,
            alternate_address=f"127.0.0.1:{alternate.port}",
            alternate_password="alt-pw",
            alternate_vts_address="127.0.0.1",
        )

    try:
        with running_vto(
            tmp_path,
            configure=with_alternate,
            extra_services=[attach_sip],
            sip_timers=Timers(t1=0.01),
        ) as vto:
            await eventually_async(
                lambda: vto.station.registered,
                what="registration at the alternate server",
                timeout=60,
            )
            link = vto.thread.runtime.sip_link
            assert link.register_failures >= 1 and "408" in link.last_register_error
            assert link.registered_at.endswith(f":{alternate.port}")
            assert alternate.location.is_online("8001")
    finally:
        await alternate.close()


async def test_vth_monitors_the_door_over_sip_and_unlocks(vto: RunningVto) -> None:
    from openpss.protocols.sip.sdp import build_offer

    loop = asyncio.get_running_loop()
    _, audio = await loop.create_datagram_endpoint(Counter, local_addr=("127.0.0.1", 0))
    _, video = await loop.create_datagram_endpoint(Counter, local_addr=("127.0.0.1", 0))
    assert audio.transport and video.transport
    vth = UserAgent(
        username="101",
        password="123456",
        server=Peer("UDP", "127.0.0.1", sip_port(vto)),
        domain="VDP",
    )
    await vth.start("127.0.0.1", 0)
    try:
        await vth.register()
        offer = build_offer(
            address="127.0.0.1",
            audio_port=audio.transport.get_extra_info("sockname")[1],
            video_port=video.transport.get_extra_info("sockname")[1],
            direction="recvonly",
        )
        # a VTH numbering H.264 as 102: the door's packets must follow its numbering
        text = bytes(offer).decode().replace("RTP/AVP 96", "RTP/AVP 102")
        text = text.replace("rtpmap:96", "rtpmap:102").replace("fmtp:96", "fmtp:102")
        call = await within(vth.call("8001", text.encode()), 15)  # Monitor > Door
        await eventually_async(
            lambda: len(video.packets) > 5 and len(audio.packets) > 5,
            what="the door's media",
            timeout=60,
        )
        assert {RtpPacket.parse(p).payload_type for p in video.packets} == {102}
        assert {RtpPacket.parse(p).payload_type for p in audio.packets} == {0}
        assert vto.station.call_state.value == "idle"  # monitoring is not a call
        await call.send_dtmf("#")
        await eventually_async(
            lambda: vto.station.find_records("unlock"), what="the unlock", timeout=60
        )
        await call.hangup()
        await eventually_async(
            lambda: not vto.thread.runtime.sip_link.monitors, what="the monitor to end", timeout=60
        )
    finally:
        await vth.close()
        audio.transport.close()
        video.transport.close()


async def test_ringing_vth_sets_the_second_ringing_state(vto: RunningVto) -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    vto.on_loop(lambda: vto.thread.runtime.listeners.append(lambda c, a, d: events.append((c, d))))
    vth = UserAgent(
        username="101",
        password="123456",
        server=Peer("UDP", "127.0.0.1", sip_port(vto)),
        domain="VDP",
    )
    await vth.start("127.0.0.1", 0)
    try:
        await vth.register()
        vto.control("press", button=2)
        incoming = await within(vth.incoming.get(), 15)  # the VTH sent 180 Ringing
        await eventually_async(
            lambda: ("BackKeyLight", {"State": 2}) in events,
            what="BackKeyLight State 2",
            timeout=60,
        )
        incoming.reject(603)
        await eventually_async(
            lambda: vto.station.call_state.value == "idle", what="the declined call", timeout=60
        )
        assert [c for c, _ in events].count("IgnoreInvite") == 1
        assert vto.station.find_records("call")[-1].data["EndState"] == "Rejected"
    finally:
        await vth.close()


async def test_group_call_rings_master_and_extension(tmp_path: Path) -> None:
    with running_vto(
        tmp_path, fps=5, stream_sizes={0: (160, 90), 1: (160, 90)}, extra_services=[attach_sip]
    ) as vto:
        vto.control("rooms", add=[{"number": "101#0"}, {"number": "101#1"}])
        port = sip_port(vto)
        phones = [
            UserAgent(
                username=name,
                password="123456",
                server=Peer("UDP", "127.0.0.1", port),
                domain="VDP",
            )
            for name in ("101#0", "101#1")
        ]
        try:
            for phone in phones:
                await phone.start("127.0.0.1", 0)
                await phone.register()
            assert vto.control("dial", number="101").status_code == 200
            master, extension = [await within(phone.incoming.get(), 15) for phone in phones]
            await extension.answer()
            await within(master.ended.wait(), 15)
            assert master.end_reason == "answered elsewhere"  # Reason: SIP;cause=200 (RFC 3326)
            await eventually_async(
                lambda: vto.station.call_state.value == "talking", what="the answer", timeout=60
            )
            await extension.hangup()
            await eventually_async(
                lambda: vto.station.call_state.value == "idle", what="the hang-up", timeout=60
            )
        finally:
            for phone in phones:
                await phone.close()


async def test_second_vto_registers_to_the_first_and_calls_its_room(tmp_path: Path) -> None:
    from openpss.devices.vto.model import DoorStation

    small = {0: (160, 90), 1: (160, 90)}
    with running_vto(
        tmp_path / "a", fps=5, stream_sizes=small, extra_services=[attach_sip]
    ) as first:
        first.control("rooms", add=[{"number": "101"}])
        first.on_loop(lambda: first.station.put_vto(VtoEntry("8002", register_password="b-pw")))
        port = sip_port(first)

        def as_second(station: DoorStation) -> None:
            station.set_sip_server(enabled=False, address="127.0.0.1")
            station.set_vto_number("8002")
            station.set_sip_server(
                enabled=False,
                address="127.0.0.1",
                port=port,
                domain="VDP",
                login_password="b-pw",
            )

        vth = UserAgent(
            username="101", password="123456", server=Peer("UDP", "127.0.0.1", port), domain="VDP"
        )
        await vth.start("127.0.0.1", 0)
        try:
            await vth.register()
            with running_vto(
                tmp_path / "b",
                configure=as_second,
                fps=5,
                stream_sizes=small,
                extra_services=[attach_sip],
            ) as second:
                await eventually_async(
                    lambda: second.station.registered, what="8002 registered at 8001", timeout=60
                )
                assert first.station.room_list()["vtos"][1] == {
                    "rec_no": "8002",
                    "ip_address": "",
                    "online": True,
                }
                assert second.control("dial", number="101").status_code == 200
                incoming = await within(vth.incoming.get(), 15)
                assert incoming.caller == "8002"
                incoming.reject(486)
                await eventually_async(
                    lambda: second.station.call_state.value == "idle",
                    what="the refusal",
                    timeout=60,
                )
        finally:
            await vth.close()
