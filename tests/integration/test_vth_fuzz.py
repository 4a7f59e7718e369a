"""The indoor monitor's servers survive garbage: SIP datagrams and MESSAGE floods on its SIP
port, random RTP (and random H.264 payloads) on its media ports during a call, and random CGI
and control requests on its HTTP port; afterwards it still answers and hangs up cleanly."""

from __future__ import annotations

import asyncio
import json
import random
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openpss.devices.vth.entities import MAX_MESSAGES
from openpss.devices.vth.model import IndoorMonitor
from openpss.protocols.rtp.codec import RtpPacket
from openpss.protocols.sip.sdp import SessionDescription, build_offer
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent
from tests.support.polling import eventually
from tests.support.vth_device import RunningVth, running_vth


@pytest.fixture
def vth(tmp_path: Path) -> Iterator[RunningVth]:
    def auto(unit: IndoorMonitor) -> None:
        unit.set_option("auto_answer", True)

    with running_vth(tmp_path, room="101#0", sip_server=None, configure=auto) as running:
        yield running


def sip_port(vth: RunningVth) -> int:
    return int(vth.thread.runtime.sip_port)


INVITE = (
    "INVITE sip:101%230@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK{n}\r\n"
    "From: <sip:8001@127.0.0.1>;tag={n}\r\nTo: <sip:101%230@127.0.0.1>\r\nCall-ID: fuzz{n}\r\n"
    "CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContact: <sip:8001@127.0.0.1:9>\r\n"
    "Content-Type: application/sdp\r\nContent-Length: {length}\r\n\r\n{body}"
)


def test_sip_port_survives_garbage_mutations_and_message_floods(vth: RunningVth) -> None:
    rng = random.Random(12)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target = ("127.0.0.1", sip_port(vth))
    body = "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=x\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    valid = INVITE.format(n=0, length=len(body), body=body).encode()
    for index in range(2000):
        if index % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600)))
        else:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 10)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            data = bytes(mutated[: rng.randrange(20, len(mutated) + 1)])
        sock.sendto(data, target)
    sock.close()
    stream = socket.create_connection(target, timeout=10)  # TCP: nothing lost in a burst
    for index in range(2 * MAX_MESSAGES + 50):  # well-formed MESSAGEs, half with bad bodies
        text = json.dumps({"type": "information", "subject": f"s{index}", "text": "t"})
        if index % 2:
            text = "{" + "x" * rng.randrange(0, 50)
        message = INVITE.format(n=f"m{index}", length=len(text), body=text)
        message = message.replace("INVITE", "MESSAGE").replace("application/sdp", "text/plain")
        stream.sendall(message.replace("SIP/2.0/UDP", "SIP/2.0/TCP").encode())
    last = f"s{2 * MAX_MESSAGES + 48}"
    eventually(
        lambda: vth.unit.messages and vth.unit.messages[-1].subject == last,
        what="the last message",
        timeout=30,
    )
    assert len(vth.unit.messages) == MAX_MESSAGES  # bounded: the oldest dropped
    stream.close()
    assert vth.status()["call"]["state"] in ("idle", "talking")


def test_media_ports_survive_random_rtp_during_a_call(vth: RunningVth) -> None:
    async def scenario() -> None:
        caller = UserAgent(
            username="8001", password="", server=Peer("UDP", "127.0.0.1", sip_port(vth))
        )
        await caller.start("127.0.0.1", 0)
        try:
            offer = build_offer(address="127.0.0.1", audio_port=9, video_port=11)
            call = await caller.call("101#0", bytes(offer))
            answer = SessionDescription.parse(call.remote_sdp)
            ports = {m.kind: m.port for m in answer.media}
            rng = random.Random(7)
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for index in range(3000):
                kind = "video" if index % 2 else "audio"
                if index % 3:
                    data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 1500)))
                else:
                    payload = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 1200)))
                    data = bytes(RtpPacket(96, index, index, 5, payload, marker=bool(index % 4)))
                sock.sendto(data, ("127.0.0.1", ports[kind]))
                if index % 300 == 0:
                    await asyncio.sleep(0)
            sock.close()
            await asyncio.sleep(0.5)
            assert vth.unit.call_state.value == "talking"
            assert vth.unit.rtp["video_in"] > 0
            await call.hangup()
            deadline = asyncio.get_running_loop().time() + 15
            while vth.unit.call_state.value != "idle":
                assert asyncio.get_running_loop().time() < deadline, "the hang-up"
                await asyncio.sleep(0.05)
        finally:
            await caller.close()

    asyncio.run(scenario())


def test_http_survives_random_cgi_and_control_requests(vth: RunningVth) -> None:
    rng = random.Random(5)
    names = ["magicBox", "configManager", "eventManager", "messageManager", "recordFinder"]
    names += ["snapshot", "nothing"]
    actions = ["getConfig", "setConfig", "getCaps", "addUnlockPassword", "find", "x", ""]
    keys = ["name", "SIP.UserID", "SIP.SIPServerPort", "Room", "Password", "Subject", "bogus"]
    keys += ["VideoTalkPhoneGeneral.RingTime", "VideoTalkPhoneGeneral.AutoAnswer"]

    def junk() -> str:
        return "".join(chr(rng.randrange(32, 0x3000)) for _ in range(rng.randrange(0, 40)))

    with httpx.Client(base_url=vth.url, auth=vth.auth(), timeout=10) as client:
        assert httpx.get(f"{vth.url}/cgi-bin/magicBox.cgi?action=getDeviceType").status_code == 401
        for _ in range(150):
            params = {"action": rng.choice(actions)}
            params |= {rng.choice(keys): junk() for _ in range(rng.randrange(0, 4))}
            response = client.get(f"/cgi-bin/{rng.choice(names)}.cgi", params=params)
            assert response.status_code < 500, response.text
        for _ in range(100):
            action = rng.choice(["answer", "call", "door", "room", "mute", "snapshot", "x"])
            body = rng.choice([junk(), json.dumps([1]), json.dumps({"number": junk()})])
            response = client.post(f"/openpss/control/{action}", content=body.encode())
            assert response.status_code < 500, response.text
        assert client.get("/cgi-bin/magicBox.cgi?action=getDeviceType").text.strip() == (
            "type=VTH5421H"
        )
    assert vth.status()["room"] == "101#0"


def test_http_serves_a_valid_request_during_slowloris(vth: RunningVth) -> None:
    from openpss.protocols.dahua_http.server import DEVICE_LIMITS
    from tests.support.slowloris import HALF_HEAD, half_sent, wait_closed

    port = int(vth.url.rsplit(":", 1)[1])
    with half_sent(port, 100, "127.0.0.3", HALF_HEAD) as held:
        ok = httpx.get(f"{vth.url}/cgi-bin/magicBox.cgi?action=getDeviceClass", auth=vth.auth())
        assert ok.status_code == 200 and ok.text == "type=VTH\r\n"
        refused = len(held) - DEVICE_LIMITS.max_per_peer
        assert wait_closed(held, expected=refused, deadline_s=10) >= refused
