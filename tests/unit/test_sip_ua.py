"""UserAgent public hooks: ringing callback and CANCEL after a provisional (OutgoingCall),
out-of-dialog MESSAGE and screening, 423 Min-Expires, the ringing table, CANCEL Reason."""

from __future__ import annotations

import asyncio

import pytest

from openpss.protocols.aio import within
from openpss.protocols.sip.b2bua import COMPLETED_ELSEWHERE
from openpss.protocols.sip.message import SipRequest, make_cancel, make_response, parse_message
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transaction import ServerTransaction, Timers
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import (
    ANSWERED_ELSEWHERE,
    CANCELLED,
    CallFailed,
    OutgoingCall,
    UaCallState,
    UserAgent,
    cancel_reason,
)
from openpss.protocols.sip.uri import SipUri
from tests.support import sip_loopback
from tests.support.polling import eventually_async
from tests.support.raw_udp import RawUdp
from tests.support.sip_loopback import FAST, SDP, start_ua

server = sip_loopback.server  # the same loopback SipServer fixture
SLOW = Timers(t1=5.0, t2=8.0, t4=5.0)  # no INVITE retransmission while we answer by hand

INVITE = (
    b"INVITE sip:9901@VDP SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bKabc\r\n"
    b"From: <sip:8001@VDP>;tag=1\r\nTo: <sip:9901@VDP>\r\nCall-ID: c1@h\r\n"
    b"CSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
)


def _invite() -> SipRequest:
    request = parse_message(INVITE)
    assert isinstance(request, SipRequest)
    return request


def test_cancel_with_reason_cause_200_is_answered_elsewhere() -> None:
    cancel = make_cancel(_invite(), COMPLETED_ELSEWHERE)
    assert b'Reason: SIP;cause=200;text="Call completed elsewhere"\r\n' in bytes(cancel)
    assert cancel_reason(parse_message(bytes(cancel))) == ANSWERED_ELSEWHERE  # type: ignore[arg-type]
    assert cancel_reason(make_cancel(_invite())) == CANCELLED
    assert cancel_reason(make_cancel(_invite(), "Q.850;cause=16")) == CANCELLED
    assert b"Reason:" not in bytes(make_cancel(_invite()))


async def test_ringing_table_forgets_answered_rejected_and_cancelled_calls(
    server: SipServer,
) -> None:
    """Regression: the table used to forget only CANCELled calls, so every other call leaked."""
    vto, master = await start_ua(server, "8001"), await start_ua(server, "9901#0")
    for ua in (vto, master):
        await ua.register()
    task = asyncio.create_task(vto.call("9901", SDP))
    ringing = await within(master.incoming.get(), 10)
    assert list(master._ringing) == [ringing.invite.call_id]  # type: ignore[union-attr]
    await ringing.answer()
    call = await within(task, 10)
    assert not master._ringing
    await call.hangup()
    await within(ringing.ended.wait(), 10)
    task = asyncio.create_task(vto.call("9901", SDP))
    ringing = await within(master.incoming.get(), 10)
    ringing.reject(486)
    with pytest.raises(CallFailed):
        await within(task, 10)
    assert not master._ringing and not master.dialogs
    await vto.close()
    await master.close()


async def test_losing_leg_gets_cancel_with_reason_and_ends_answered_elsewhere(
    server: SipServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    vto, master, ext = [await start_ua(server, n) for n in ("8001", "9901#0", "9901#1")]
    reasons: list[str | None] = []
    original = master._cancelled

    def cancelled(request: SipRequest, txn: ServerTransaction) -> None:
        reasons.append(request.headers.get("Reason"))
        original(request, txn)

    monkeypatch.setattr(master, "_cancelled", cancelled)
    for ua in (vto, master, ext):
        await ua.register()
    task = asyncio.create_task(vto.call("9901", SDP))
    ring_master = await within(master.incoming.get(), 10)
    await (await within(ext.incoming.get(), 10)).answer()
    call = await within(task, 10)
    await within(ring_master.ended.wait(), 10)
    assert reasons == [COMPLETED_ELSEWHERE]
    assert ring_master.end_reason == ANSWERED_ELSEWHERE and not master._ringing
    await call.hangup()
    for ua in (vto, master, ext):
        await ua.close()


async def test_call_reports_ringing_through_its_hook(server: SipServer) -> None:
    vto, master = await start_ua(server, "8001"), await start_ua(server, "9901#0")
    for ua in (vto, master):
        await ua.register()
    rang: list[bool] = []
    task = asyncio.create_task(vto.call("9901", SDP, on_ringing=lambda: rang.append(True)))
    ringing = await within(master.incoming.get(), 10)
    await eventually_async(lambda: rang, timeout=10.0)
    await ringing.answer()
    call = await within(task, 10)
    assert call.state is UaCallState.answered
    await call.hangup()
    await vto.close()
    await master.close()


class _Proxy(asyncio.DatagramProtocol):
    """A bare UDP socket standing in for the server: we answer the INVITE by hand."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[SipRequest, tuple[str, int]]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        message = parse_message(data)
        if isinstance(message, SipRequest):
            self.received.put_nowait((message, addr))

    async def next(self, method: str) -> tuple[SipRequest, tuple[str, int]]:
        while True:
            request, addr = await within(self.received.get(), 10)
            if request.method == method:
                return request, addr

    def reply(self, request: SipRequest, status: int, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        self.transport.sendto(bytes(make_response(request, status, to_tag="callee")), addr)


async def test_outgoing_call_cancel_waits_for_a_provisional() -> None:
    """RFC 3261 §9.1: a cancel asked before any provisional is sent once the 180 arrives."""
    loop = asyncio.get_running_loop()
    transport, proxy = await loop.create_datagram_endpoint(_Proxy, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    ua = UserAgent(
        username="8001", password="x", server=Peer("UDP", "127.0.0.1", port), timers=SLOW
    )
    await ua.start()
    rang: list[bool] = []
    outgoing = OutgoingCall(ua, on_ringing=lambda: rang.append(True))
    task = asyncio.create_task(outgoing.dial("9901", SDP))
    invite, addr = await proxy.next("INVITE")
    outgoing.cancel()  # before the INVITE got any answer: nothing may be sent yet
    assert outgoing.cancel_wanted and not outgoing.cancel_sent and not task.done()
    proxy.reply(invite, 180, addr)
    cancel, _ = await proxy.next("CANCEL")
    assert rang == [True] and cancel.call_id == invite.call_id
    assert cancel.cseq.number == invite.cseq.number
    proxy.reply(cancel, 200, addr)
    proxy.reply(invite, 487, addr)
    with pytest.raises(CallFailed) as failed:
        await within(task, 10)
    assert failed.value.status == 487
    await ua.close()
    transport.close()


async def test_register_obeys_423_min_expires(server: SipServer) -> None:
    server.registrar.strict_min = True
    ua = await start_ua(server, "8001")
    await ua.register(expires=1)
    assert ua.asked_expires == server.registrar.min_expires
    assert server.location.lookup("8001")
    await ua.close()


async def test_out_of_dialog_message_hook_and_screen(server: SipServer) -> None:
    phone, sender = await start_ua(server, "9901#0"), await start_ua(server, "8001")
    target = str(SipUri.for_number("9901#0", "127.0.0.1", phone.endpoint.port))

    async def send(method: str) -> int:
        request = sender._request(method, target, target, call_id=f"{method}@t", cseq=1)
        request.set_body(b"hello", "text/plain")
        peer = Peer("UDP", "127.0.0.1", phone.endpoint.port)
        return (await sender.endpoint.request(request, peer)).status

    assert await send("MESSAGE") == 481  # no hook: no dialog
    received: list[bytes] = []

    def on_message(request: SipRequest) -> int:
        received.append(request.body)
        return 202

    phone.on_message = on_message
    assert await send("MESSAGE") == 202 and received == [b"hello"]
    phone.screen = lambda request, peer: False
    assert await send("MESSAGE") == 403 and await send("INVITE") == 403
    assert received == [b"hello"] and phone.incoming.empty()
    await phone.close()
    await sender.close()


async def test_answered_call_whose_200_is_never_acked_ends_with_a_bye() -> None:
    """RFC 3261 §13.3.1.4: the UA answered, the ACK never came: it sends BYE and goes idle."""
    raw = RawUdp()
    ua = UserAgent(
        username="9901#0",
        password="m0",
        server=Peer("UDP", "127.0.0.1", raw.port),
        domain="VDP",
        timers=FAST,
        auto_answer=True,
    )
    await ua.start()
    try:
        invite = INVITE.replace(b"5062", str(raw.port).encode()).replace(
            b"Max-Forwards", b"Contact: <sip:8001@127.0.0.1:%d>\r\nMax-Forwards" % raw.port
        )
        raw.send(invite, ua.endpoint.port)
        seen: list[str] = []
        while (data := await raw.recv(3.0)) is not None:
            message = parse_message(data)
            seen.append(str(getattr(message, "status", "")) or message.method)  # type: ignore[union-attr]
            if seen[-1] == "BYE":
                break
        assert "200" in seen and seen[-1] == "BYE"
        assert not ua.dialogs
    finally:
        await ua.close()
