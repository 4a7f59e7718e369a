"""SipServer with our UserAgent on loopback: registrar, routing, parallel/group ringing, CDRs."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from openpss.protocols.aio import within
from openpss.protocols.sip.accounts import EndState, StaticAccounts
from openpss.protocols.sip.b2bua import Call, Leg
from openpss.protocols.sip.message import make_cancel
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transaction import ClientTransaction, ServerTransaction, new_branch
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import (
    CallFailed,
    OutgoingCall,
    RegistrationError,
    UaCall,
    UaCallState,
    UserAgent,
)
from tests.support import sip_loopback
from tests.support.polling import eventually_async
from tests.support.sip_loopback import ACCOUNTS, FAST, SDP, Recorder, start_ua

server = sip_loopback.server  # fixture


def _events(server: SipServer) -> Recorder:
    assert isinstance(server.events, Recorder)
    return server.events


async def test_register_with_digest_lists_contacts_and_fires_online(server: SipServer) -> None:
    ua = await start_ua(server, "9901#0")
    response = await ua.register(expires=30)
    assert response.status == 200
    contact = response.contacts[0]
    assert contact.params["expires"] == "60"  # raised to the 60 s minimum
    assert server.location.is_online("9901#0")
    assert ("9901#0", True) in _events(server).changes
    await ua.unregister()
    assert not server.location.is_online("9901#0")
    assert ("9901#0", False) in _events(server).changes
    await ua.close()


async def test_register_wrong_password_is_403(server: SipServer) -> None:
    ua = UserAgent(
        username="8001", password="wrong", server=Peer("UDP", "127.0.0.1", server.port), timers=FAST
    )
    await ua.start()
    with pytest.raises(RegistrationError) as info:
        await ua.register()
    assert info.value.status == 403
    assert not server.location.is_online("8001")
    await ua.close()


async def test_register_over_tcp(server: SipServer) -> None:
    ua = UserAgent(
        username="8001", password="vto", server=Peer("TCP", "127.0.0.1", server.port), timers=FAST
    )
    await ua.start()
    await ua.register()
    binding = server.location.lookup("8001")[0]
    assert binding.peer.transport == "TCP" and "transport=tcp" in binding.contact
    await ua.close()


async def test_expiry_sweep_takes_binding_offline(server: SipServer) -> None:
    ua = await start_ua(server, "8001")
    await ua.register()
    server.location.clock = lambda: 10**9  # far in the future
    await eventually_async(lambda: ("8001", False) in _events(server).changes, timeout=10.0)
    await ua.close()


async def test_room_number_rings_master_and_extensions_first_answer_wins(server: SipServer) -> None:
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9901#0")
    ext1 = await start_ua(server, "9901#1")
    for ua in (vto, master, ext1):
        await ua.register()
    call_task = asyncio.create_task(vto.call("9901", SDP))
    ring_master = await within(master.incoming.get(), 10)
    ring_ext = await within(ext1.incoming.get(), 10)
    assert ring_master.caller == ring_ext.caller == "8001"
    await ring_ext.answer()
    call = await within(call_task, 10)
    assert call.state is UaCallState.answered and b"m=audio" in call.remote_sdp
    await within(ring_master.ended.wait(), 10)
    assert ring_master.end_reason == "answered elsewhere"  # CANCEL Reason cause=200 (RFC 3326)
    # in-dialog relay: DTMF INFO and MESSAGE reach the answering extension
    assert (await call.send_dtmf("5")).status == 200
    info = await within(ring_ext.received.get(), 5)
    assert info.method == "INFO" and b"Signal=5" in info.body
    assert (await call.send_message("hello")).status == 200
    assert (await within(ring_ext.received.get(), 5)).body == b"hello"
    assert (await call.reinvite(SDP)).status == 200
    await call.hangup()
    await within(ring_ext.ended.wait(), 10)
    await eventually_async(lambda: _events(server).records, timeout=10.0)
    record = _events(server).records[0]
    assert record.end_state is EndState.answered and record.answered_by == "9901#1"
    assert record.caller == "8001" and record.callee == "9901" and record.duration >= 0
    for ua in (vto, master, ext1):
        await ua.close()


async def test_callee_hangs_up_ends_both_legs(server: SipServer) -> None:
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9902#0", auto_answer=True)
    await vto.register()
    await master.register()
    call = await within(vto.call("9902", SDP), 10)
    callee = next(iter(master.dialogs.values()))
    await callee.hangup()
    await within(call.ended.wait(), 10)
    assert call.end_reason == "remote hangup"
    await vto.close()
    await master.close()


async def test_unknown_404_unregistered_480_busy_486(server: SipServer) -> None:
    vto = await start_ua(server, "8001")
    await vto.register()
    with pytest.raises(CallFailed) as info:
        await vto.call("7777", SDP)
    assert info.value.status == 404
    with pytest.raises(CallFailed) as info:
        await vto.call("9901", SDP)
    assert info.value.status == 480
    master = await start_ua(server, "9901#0")
    await master.register()
    master.on_call = lambda call: call.reject(486)
    with pytest.raises(CallFailed) as info:
        await vto.call("9901", SDP)
    assert info.value.status == 486
    await eventually_async(lambda: len(_events(server).records) == 3, timeout=10.0)
    states = [r.end_state for r in _events(server).records]
    assert states == [EndState.failed, EndState.failed, EndState.busy]
    await vto.close()
    await master.close()


async def test_caller_cancel_before_answer_gives_487_and_cancels_callee(server: SipServer) -> None:
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9901#0")
    await vto.register()
    await master.register()
    task = asyncio.create_task(vto.call("9901", SDP))
    ringing = await within(master.incoming.get(), 10)
    task.cancel()  # the UA sends CANCEL for its INVITE
    with pytest.raises(asyncio.CancelledError):
        await task
    await within(ringing.ended.wait(), 10)
    assert ringing.end_reason == "cancelled"
    await eventually_async(lambda: _events(server).records, timeout=10.0)
    assert _events(server).records[-1].status == 487
    assert _events(server).records[-1].end_state is EndState.missed
    await vto.close()
    await master.close()


async def test_call_group_rings_members_in_priority_order(server: SipServer) -> None:
    vto = await start_ua(server, "8001")
    first = await start_ua(server, "900001")
    second = await start_ua(server, "900002", auto_answer=True)
    for ua in (vto, first, second):
        await ua.register()
    call = await within(vto.call("888888", SDP), 10)
    ring_first = first.incoming.get_nowait()  # rang first, for 0.5 s, then cancelled
    await within(ring_first.ended.wait(), 10)
    assert ring_first.end_reason == "cancelled"
    await call.hangup()
    await eventually_async(lambda: _events(server).records, timeout=10.0)
    assert _events(server).records[0].answered_by == "900002"
    for ua in (vto, first, second):
        await ua.close()


async def test_invite_needs_credentials(server: SipServer) -> None:
    vto = UserAgent(
        username="8001", password="bad", server=Peer("UDP", "127.0.0.1", server.port), timers=FAST
    )
    await vto.start()
    with pytest.raises(CallFailed) as info:
        await vto.call("9901", SDP)
    assert info.value.status == 403
    await vto.close()


async def test_call_to_a_callee_registered_over_tcp(server: SipServer) -> None:
    vto = await start_ua(server, "8001")
    master = UserAgent(
        username="9902#0",
        password="x",
        server=Peer("TCP", "127.0.0.1", server.port),
        timers=FAST,
        auto_answer=True,
    )
    rung: list[UaCall] = []
    master.on_call = rung.append
    await master.start()
    await vto.register()
    await master.register()
    call = await within(vto.call("9902", SDP), 10)
    assert call.state is UaCallState.answered
    await call.hangup()
    await within(rung[0].ended.wait(), 10)  # the BYE reached it over TCP
    assert rung[0].end_reason == "remote hangup"
    await eventually_async(lambda: _events(server).records, timeout=10.0)
    assert _events(server).records[0].answered_by == "9902#0"
    await vto.close()
    await master.close()


async def test_decline_is_rejected_and_ring_timeout_is_missed() -> None:
    events = Recorder()
    server = SipServer(
        realm="VDP",
        accounts=StaticAccounts(ACCOUNTS),
        events=events,
        timers=FAST,
        ring_seconds=0.5,
    )
    await server.start("127.0.0.1", 0)
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9901#0")
    try:
        await vto.register()
        await master.register()
        master.on_call = lambda call: call.reject(603)
        with pytest.raises(CallFailed) as info:
            await vto.call("9901", SDP)
        assert info.value.status == 603
        master.on_call = None  # now it just rings until the room's ring time is over
        with pytest.raises(CallFailed) as info:
            await vto.call("9901", SDP)
        assert info.value.status == 480
        await eventually_async(lambda: len(events.records) == 2, timeout=10.0)
        assert [r.end_state for r in events.records] == [EndState.rejected, EndState.missed]
        assert events.records[1].legs == [("9901#0", 487)]
    finally:
        await vto.close()
        await master.close()
        await server.close()


async def test_keep_registered_refreshes_before_expiry() -> None:
    server = SipServer(realm="VDP", accounts=StaticAccounts(ACCOUNTS), timers=FAST, min_expires=1)
    await server.start("127.0.0.1", 0)
    ua = await start_ua(server, "8001")
    task = asyncio.create_task(ua.keep_registered(2))
    try:
        await eventually_async(lambda: server.location.lookup("8001"), timeout=10.0)
        first = server.location.lookup("8001")[0].cseq
        await eventually_async(
            lambda: server.location.lookup("8001")[0].cseq > first, timeout=10.0
        )  # ~1 s later
    finally:
        task.cancel()
        await ua.close()
        await server.close()


async def test_answered_call_is_hung_up_after_the_maximum_duration() -> None:
    events = Recorder()
    server = SipServer(
        realm="VDP",
        accounts=StaticAccounts(ACCOUNTS),
        events=events,
        timers=FAST,
        max_call_seconds=0.3,
    )
    await server.start("127.0.0.1", 0)
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9901#0", auto_answer=True)
    try:
        await vto.register()
        await master.register()
        call = await within(vto.call("9901", SDP), 10)
        await within(call.ended.wait(), 10)  # BYE from the server
        await eventually_async(lambda: events.records, timeout=10.0)
        assert events.records[0].end_state is EndState.answered
        assert not server.calls
    finally:
        await vto.close()
        await master.close()
        await server.close()


class _DropAcks(asyncio.DatagramTransport):
    """A UDP transport that loses every ACK it is given (and sends everything else)."""

    def __init__(self, inner: asyncio.DatagramTransport | None) -> None:
        super().__init__()
        assert inner is not None
        self.inner = inner

    def sendto(self, data: Any, addr: Any = None) -> None:
        if not bytes(data).startswith(b"ACK "):
            self.inner.sendto(data, addr)

    def close(self) -> None:
        self.inner.close()


async def test_caller_that_never_acks_the_answer_is_hung_up_on_both_legs(
    server: SipServer,
) -> None:
    """RFC 3261 §13.3.1.4: the B2BUA's 2xx to the caller is never ACKed (lost, or a broken
    caller): after 64*T1 both legs get a BYE and the call ends instead of hanging forever."""
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9902#0", auto_answer=True)
    try:
        await vto.register()
        await master.register()
        vto.endpoint.layer.transport._udp = _DropAcks(vto.endpoint.layer.transport._udp)
        call = await within(vto.call("9902", SDP), 10)
        await within(call.ended.wait(), 10)  # BYE from the server
        await eventually_async(lambda: _events(server).records, timeout=10.0)
        record = _events(server).records[0]
        assert record.end_state is EndState.answered and record.answered_by == "9902#0"
        assert not server.calls
        await eventually_async(
            lambda: not master.dialogs, timeout=10.0
        )  # the callee's leg got its BYE too
    finally:
        await vto.close()
        await master.close()


async def test_finished_calls_are_freed_without_the_cyclic_gc(server: SipServer) -> None:
    """A busy server finishes thousands of calls a second: each one's objects (call, legs,
    transactions, dialogs) must be freed by reference counting when it ends, not left as
    cyclic garbage for collector passes that cost a server CPU and stall it."""
    owned = (Call, Leg, ServerTransaction, ClientTransaction)

    layer = server.endpoint.layer

    def ours() -> list[object]:
        return [
            o
            for o in gc.get_objects()
            if isinstance(o, owned) and (not hasattr(o, "layer") or o.layer is layer)
        ]

    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9901#0")
    ext1 = await start_ua(server, "9901#1")
    gc.collect()
    gc.disable()
    try:
        for ua in (vto, master, ext1):
            await ua.register()
        call_task = asyncio.create_task(vto.call("9901", SDP))
        ring_master = await within(master.incoming.get(), 10)
        ring_ext = await within(ext1.incoming.get(), 10)
        await ring_ext.answer()  # the master's leg is cancelled
        call = await within(call_task, 10)
        assert ours()  # the call is alive in the server
        assert (await call.send_dtmf("5")).status == 200
        await call.hangup()
        await within(ring_ext.ended.wait(), 10)
        await within(ring_master.ended.wait(), 10)
        await eventually_async(lambda: _events(server).records, timeout=10.0)
        # the cancelled leg's INVITE transaction lives on for timer D; then nothing is left
        await eventually_async(lambda: not ours(), what="no call objects left", timeout=10.0)
    finally:
        gc.enable()
        for ua in (vto, master, ext1):
            await ua.close()


async def test_cancel_after_the_answer_gets_200_and_changes_nothing(server: SipServer) -> None:
    """RFC 3261 §9.2: a CANCEL that crosses the 2xx still matches the INVITE's transaction
    (RFC 6026: until timer L), gets 200 and leaves the call up; a CANCEL for no INVITE, 481."""
    vto = await start_ua(server, "8001")
    master = await start_ua(server, "9902#0", auto_answer=True)
    try:
        await vto.register()
        await master.register()
        outgoing = OutgoingCall(vto)
        call = await within(outgoing.dial("9902", SDP), 10)
        assert outgoing.txn is not None
        invite = outgoing.txn.request
        await eventually_async(lambda: server.endpoint.layer.invite_acknowledged(invite))
        late = vto.endpoint.layer.send_request(make_cancel(invite), vto.server)
        assert (await within(late.final, 5)).status == 200
        assert call.state is UaCallState.answered and server.calls
        assert (await call.send_dtmf("7")).status == 200  # the call goes on
        stray = make_cancel(invite)
        stray.headers.set("Via", str(vto.endpoint.layer.transport.via_for("UDP", new_branch())))
        unknown = vto.endpoint.layer.send_request(stray, vto.server)
        assert (await within(unknown.final, 5)).status == 481
        await call.hangup()
        await eventually_async(lambda: _events(server).records, timeout=10.0)
        assert _events(server).records[-1].end_state is EndState.answered
    finally:
        await vto.close()
        await master.close()
