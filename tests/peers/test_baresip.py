"""baresip against our SIP server: a room with two extensions rings both, audio flows end to end."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openpss.protocols.sip.accounts import CallRecord, EndState, ServerEvents, StaticAccounts
from openpss.protocols.sip.server import SipServer
from tests.peers.baresip_support import Baresip, wav_rms
from tests.support.polling import eventually_async

pytestmark = pytest.mark.peers

ACCOUNTS = {"8001": "vto-pw", "9901#0": "m0-pw", "9901#1": "m1-pw"}


class Records(ServerEvents):
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def call_ended(self, record: CallRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    server = SipServer(realm="VDP", accounts=StaticAccounts(ACCOUNTS), events=Records())
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def test_room_rings_both_extensions_one_answers_audio_flows(
    server: SipServer, tmp_path: Path
) -> None:
    caller = Baresip(
        tmp_path / "caller",
        user="8001",
        password="vto-pw",
        server_port=server.port,
        answermode="manual",
    )
    master = Baresip(
        tmp_path / "master",
        user="9901#0",
        password="m0-pw",
        server_port=server.port,
        answermode="manual",
    )
    extension = Baresip(
        tmp_path / "ext1",
        user="9901#1",
        password="m1-pw",
        server_port=server.port,
        answermode="auto",
    )
    phones = (caller, master, extension)
    try:
        for phone in phones:
            await phone.start()
        await eventually_async(
            lambda: all(server.location.is_online(u) for u in ACCOUNTS),
            what="three registrations",
            timeout=30,
        )
        await caller.command("dial", f"sip:9901@127.0.0.1:{server.port}")
        await eventually_async(
            lambda: any(c.b_leg for c in server.calls.values()), what="an answer", timeout=30
        )
        await asyncio.sleep(3)  # let RTP flow both ways
        await caller.command("hangup")
        records: list[CallRecord] = server.events.records  # type: ignore[attr-defined]
        await eventually_async(lambda: records, what="the call record", timeout=30)
    finally:
        for phone in phones:
            await phone.stop()
    record = records[0]
    assert record.end_state is EndState.answered and record.answered_by == "9901#1"
    assert ("9901#0", 487) in record.legs, record.legs  # the master saw CANCEL
    assert record.duration > 1
    dumps = sorted((tmp_path / "ext1").glob("dump-*dec.wav"))
    assert dumps, extension.log()
    assert wav_rms(dumps[0]) > 500  # the caller's 440 Hz tone, not silence
    caller_dumps = sorted((tmp_path / "caller").glob("dump-*dec.wav"))
    assert caller_dumps and wav_rms(caller_dumps[0]) > 500
