"""A loopback SipServer with static accounts and fast timers, and our UserAgent registered to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openpss.protocols.sip.accounts import CallRecord, ServerEvents, StaticAccounts
from openpss.protocols.sip.b2bua import CallGroup, GroupMember
from openpss.protocols.sip.sdp import build_offer
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transaction import Timers
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)
ACCOUNTS = {
    "8001": "vto",
    "9901#0": "m0",
    "9901#1": "m1",
    "9901#2": "m2",
    "9902#0": "x",
    "900001": "c1",
    "900002": "c2",
}


class Recorder(ServerEvents):
    def __init__(self) -> None:
        self.changes: list[tuple[str, bool]] = []
        self.records: list[CallRecord] = []

    def registration_changed(self, username: str, online: bool) -> None:
        self.changes.append((username, online))

    def call_ended(self, record: CallRecord) -> None:
        self.records.append(record)


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    server = SipServer(
        realm="VDP",
        accounts=StaticAccounts(ACCOUNTS),
        events=Recorder(),
        timers=FAST,
        ring_seconds=5,
        groups={
            "888888": CallGroup("888888", [GroupMember("900001", 0.5), GroupMember("900002", 5)])
        },
    )
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def start_ua(server: SipServer, username: str, **kwargs: object) -> UserAgent:
    ua = UserAgent(
        username=username,
        password=ACCOUNTS[username],
        server=Peer("UDP", "127.0.0.1", server.port),
        domain="VDP",
        timers=FAST,
        **kwargs,  # type: ignore[arg-type]
    )
    await ua.start()
    return ua


SDP = bytes(build_offer(address="127.0.0.1", audio_port=40000))
