"""The console's call legs (``ConsoleCalls``) against our SIP server and a SIP phone in code.

The phone plays the door station: it registers as 8001, calls the centre (888888) or is
called, and sends PCMU RTP. Runs on SQLite and PostgreSQL (the call records).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.intercom.calls import CENTRE_NUMBER, CallError, ConsoleCalls
from openpss.platform.intercom.views_calls import _handle
from openpss.platform.records.models import CallRecord
from openpss.protocols.aio import within
from openpss.protocols.rtp import g711
from openpss.protocols.rtp.codec import RtpPacket
from openpss.protocols.sip import CallFailed, Peer, SipServer, StaticAccounts, UserAgent
from openpss.protocols.sip.sdp import SessionDescription
from tests.support.call_console import Console, offer
from tests.support.polling import eventually_async

DEVICE, DEVICE_PASSWORD = "8001", "door-pw"


@dataclass
class Rig:
    server: SipServer
    calls: ConsoleCalls
    door: UserAgent
    factory: Any
    data_dir: Path

    def records(self) -> list[CallRecord]:
        with self.factory() as session:
            return list(session.scalars(select(CallRecord).order_by(CallRecord.id)))


@pytest.fixture
async def rig(db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    server = SipServer(realm="openpss", accounts=StaticAccounts({DEVICE: DEVICE_PASSWORD}))
    await server.start("127.0.0.1", 0)
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    calls = ConsoleCalls(data_dir=tmp_path / "data", session_factory=factory)
    await calls.start(server)
    door = UserAgent(
        username=DEVICE,
        password=DEVICE_PASSWORD,
        server=Peer("UDP", "127.0.0.1", server.port),
        media_ports={"audio": 40000},
    )
    await door.start("127.0.0.1", 0)
    await door.register()
    try:
        yield Rig(server, calls, door, factory, tmp_path / "data")
    finally:
        await calls.close()
        await door.close()
        await server.close()
        engine.dispose()


async def _ringing(rig: Rig, *consoles: Console) -> tuple[asyncio.Task[Any], str]:
    for console in consoles:
        rig.calls.subscribe(console.username, console.send)
    dialled = asyncio.create_task(rig.door.call(CENTRE_NUMBER, offer(40000)))
    await eventually_async(
        lambda: all("ringing" in c.kinds() for c in consoles), what="ringing everywhere"
    )
    return dialled, consoles[0].messages[0]["call"]["id"]


async def test_first_accept_takes_the_call_others_stop_ringing(rig: Rig) -> None:
    alice, bob = Console("alice"), Console("bob")
    dialled, call_id = await _ringing(rig, alice, bob)
    assert alice.messages[0]["call"]["caller"] == DEVICE
    await rig.calls.accept(call_id, "alice")
    with pytest.raises(CallError, match="already taken by alice"):
        await rig.calls.accept(call_id, "bob")
    door_call = await within(dialled, 10)
    await eventually_async(lambda: "taken" in bob.kinds(), what="bob's window closing")
    with pytest.raises(CallError, match="not yours"):
        await rig.calls.open_door(call_id, "bob")

    answer = SessionDescription.parse(door_call.remote_sdp)
    audio = answer.first("audio")
    assert audio is not None and audio.port
    loop = asyncio.get_running_loop()
    sender, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", 0))
    for n in range(10):
        packet = RtpPacket(0, n, n * 160, 1234, g711.encode(g711.tone(440, n * 160, 160)))
        sender.sendto(bytes(packet), ("127.0.0.1", audio.port))
    sender.sendto(b"\x80garbage", ("127.0.0.1", audio.port))  # dropped, counted nowhere
    media = rig.calls.get(call_id).media
    await eventually_async(lambda: media.counters["audio_in"] == 10, what="the door's audio")
    assert media.audio_track.queue.qsize() == 10
    sender.close()

    await door_call.hangup()  # the door hangs up
    await eventually_async(lambda: "ended" in alice.kinds(), what="the end reaching the console")
    [record] = rig.records()
    assert (record.caller, record.callee, record.status) == (DEVICE, CENTRE_NUMBER, "answered")
    assert record.end_time is not None and record.duration_seconds >= 0


async def test_reject_answers_603_and_records_rejected(rig: Rig) -> None:
    console = Console("alice")
    dialled, call_id = await _ringing(rig, console)
    rig.calls.reject(call_id, "alice")
    with pytest.raises(CallFailed) as failed:
        await within(dialled, 10)
    assert failed.value.status == 603
    await eventually_async(lambda: rig.records(), what="the record")
    assert [r.status for r in rig.records()] == ["rejected"]
    with pytest.raises(CallError, match="has ended"):
        rig.calls.reject(call_id, "alice")


async def test_door_giving_up_is_a_missed_call(rig: Rig) -> None:
    console = Console("alice")
    dialled, _ = await _ringing(rig, console)
    dialled.cancel()  # the visitor walks away: CANCEL
    with contextlib.suppress(asyncio.CancelledError):
        await dialled
    await eventually_async(lambda: "ended" in console.kinds(), what="the window closing")
    assert [r.status for r in rig.records()] == ["missed"]
    assert rig.calls.calls == {}


async def test_console_dials_the_door_and_hangs_up(rig: Rig) -> None:
    rig.door.auto_answer = True
    call = await rig.calls.dial(DEVICE, "alice")
    assert call.answered_by == "alice" and call.state.value == "talking"
    assert call.media.remote_audio == ("127.0.0.1", 40000)
    await rig.calls.hangup(call.id, "alice")
    [record] = rig.records()
    assert (record.caller, record.callee, record.status) == (CENTRE_NUMBER, DEVICE, "answered")


async def test_dialling_an_unknown_number_fails_with_its_status(rig: Rig) -> None:
    with pytest.raises(CallError, match="404"):
        await rig.calls.dial("9999", "alice")
    with pytest.raises(CallError, match="digits"):
        await rig.calls.dial("12ab", "alice")
    assert [r.status for r in rig.records()] == ["failed"]


async def test_switches_persist_for_the_next_call(rig: Rig, tmp_path: Path) -> None:
    assert rig.calls.switches("alice").auto_record is True
    rig.calls.set_switches("alice", auto_record=False, mic_muted=True)
    again = ConsoleCalls(data_dir=rig.data_dir, session_factory=rig.factory)
    switches = again.switches("alice")
    assert (switches.auto_record, switches.mic_muted, switches.auto_snapshot) == (False, True, True)
    assert again.switches("bob").mic_muted is False
    with pytest.raises(CallError, match="unknown switch 'volume'"):
        rig.calls.set_switches("alice", volume=True)


GARBAGE = [
    "", "null", "[]", "{", '{"type": 5}', '{"type": "accept"}', '{"type": "offer", "call": "x"}',
    '{"type": "switches", "values": 3}', '{"type": "dial"}', '{"type": "door", "call": []}',
    "\x00" * 100, '{"type": "hangup", "call": "nope"}', '{"type": "warp"}',
]  # fmt: skip


async def test_signalling_garbage_gets_an_error_reply_and_changes_nothing(rig: Rig) -> None:
    replies: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        replies.append(message)

    for text in GARBAGE:
        await _handle(rig.calls, "alice", text, send)
    assert len(replies) == len(GARBAGE)
    assert {r["type"] for r in replies} == {"error"}
    assert "unknown message type 'warp'" in json.dumps(replies)
    assert rig.calls.calls == {} and rig.records() == []


def _cookie(api: Any, role: Any) -> str:
    from openpss.platform.security.models import Account
    from openpss.platform.security.tokens import open_login_session

    app = api.client.app
    with app.state.session_factory() as s:
        account = s.scalars(select(Account).where(Account.role == role)).first()
        cookie, _ = open_login_session(session=s, account=account, lifetime=dt.timedelta(hours=1))
        s.commit()
    return str(cookie)


def test_call_socket_needs_an_operator_session_from_the_same_origin(api: Any) -> None:
    from starlette.websockets import WebSocketDisconnect

    from openpss.platform.security.models import Role

    app = api.client.app
    settings = app.state.settings
    app.state.console_calls = ConsoleCalls(
        data_dir=settings.data_dir, session_factory=app.state.session_factory
    )
    client = api.client
    refused = [
        ({}, {}),
        ({"openpss_session": _cookie(api, Role.viewer)}, {}),
        ({"openpss_session": "forged"}, {}),
        ({"openpss_session": _cookie(api, Role.operator)}, {"origin": "http://evil.example"}),
    ]
    for cookies, headers in refused:
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/intercom/ws", headers=headers) as socket,
        ):
            socket.receive_json()
        assert closed.value.code == 1008
    client.cookies.set("openpss_session", _cookie(api, Role.operator))
    with client.websocket_connect(
        "/intercom/ws", headers={"origin": "http://testserver"}
    ) as socket:
        socket.send_text('{"type": "warp"}')
        assert socket.receive_json() == {"type": "error", "message": "unknown message type 'warp'"}
        socket.send_text("x" * 70_000)
        assert socket.receive_json()["message"] == "message too large"
    assert client.get("/intercom/calls").status_code == 200
    assert client.get("/intercom/calls/nope").status_code == 404
    assert client.get("/intercom/records/1/passwd").status_code == 404
    client.cookies.set("openpss_session", _cookie(api, Role.viewer))
    assert client.get("/intercom/calls", follow_redirects=False).status_code == 403


async def test_answering_applies_the_users_switches(rig: Rig) -> None:
    rig.calls.set_switches("alice", auto_snapshot=False, auto_record=False, device_muted=True)
    console = Console("alice")
    dialled, call_id = await _ringing(rig, console)
    call = await rig.calls.accept(call_id, "alice")
    assert call.media.snapshot_path is None and call.media.recorder is None
    assert call.media.audio_track.muted and not call.media.mic_muted
    rig.calls.set_switches("alice", device_muted=False, mic_muted=True)  # during the call
    assert not call.media.audio_track.muted and call.media.mic_muted
    door_call = await within(dialled, 10)
    await rig.calls.hangup(call_id, "alice")
    await within(door_call.ended.wait(), 10)
    [record] = rig.records()
    assert record.status == "answered"
    assert not (rig.data_dir / "calls" / str(record.id)).exists()  # nothing was kept
