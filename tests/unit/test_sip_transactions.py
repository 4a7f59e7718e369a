"""SIP transport and transactions on loopback with scaled timers (T1 = 20 ms)."""

from __future__ import annotations

import asyncio

from openpss.protocols.aio import within
from openpss.protocols.sip.message import SipRequest, SipResponse, parse_message
from openpss.protocols.sip.transaction import (
    Expiring,
    RequestHandler,
    ServerTransaction,
    Timers,
    TransactionLayer,
)
from openpss.protocols.sip.transport import Peer
from tests.support.polling import eventually_async
from tests.support.raw_udp import RawUdp

FAST = Timers(t1=0.02, t2=0.08, t4=0.1)


def _request(method: str, branch: str, *, port: int = 9, cseq: int = 1) -> bytes:
    return (
        f"{method} sip:8001@127.0.0.1 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{branch};rport\r\n"
        "From: <sip:a@127.0.0.1>;tag=f1\r\nTo: <sip:8001@127.0.0.1>\r\n"
        f"Call-ID: {branch}@test\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


async def _layer(handler: RequestHandler | None = None) -> TransactionLayer:
    layer = TransactionLayer(handler or (lambda r, t, p: None), timers=FAST)
    await layer.start("127.0.0.1", 0)
    return layer


def _answering(status: int) -> tuple[list[str], RequestHandler]:
    """A TU that answers every request with ``status`` and records the methods it saw."""
    calls: list[str] = []

    def handler(request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        calls.append(request.method)
        if txn is not None:
            txn.reply(status)

    return calls, handler


async def test_non_invite_client_retransmits_then_times_out_with_408() -> None:
    raw = RawUdp()
    layer = await _layer()
    try:
        request = parse_message(_request("OPTIONS", "retx"))
        assert isinstance(request, SipRequest)
        client = layer.send_request(request, Peer("UDP", "127.0.0.1", raw.port))
        seen = 0
        while await raw.recv(0.3) is not None:
            seen += 1
        final = await within(client.final, 5)
        assert final.status == 408
        assert seen >= 4  # timer E doubled up to T2 within timer F = 64*T1
    finally:
        await layer.close()


async def test_invite_server_retransmits_non_2xx_until_ack_and_stamps_rport() -> None:
    raw = RawUdp()

    def handler(request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        if txn is not None:
            txn.reply(486)

    layer = await _layer(handler)
    try:
        raw.send(_request("INVITE", "inv1", port=raw.port), layer.transport.port)
        first = await raw.recv()
        assert first is not None
        response = parse_message(first)
        assert isinstance(response, SipResponse) and response.status == 486
        assert response.top_via.params["rport"] == str(raw.port)
        assert response.top_via.params["received"] == "127.0.0.1"
        again = await raw.recv(0.5)
        assert again is not None and parse_message(again).status == 486  # type: ignore[union-attr]
        to = response.headers.get("To") or ""
        ack = _request("ACK", "inv1", port=raw.port).replace(
            b"To: <sip:8001@127.0.0.1>", b"To: " + to.encode()
        )
        raw.send(ack, layer.transport.port)
        await asyncio.sleep(0.05)
        while await raw.recv(0.05) is not None:
            pass  # drain what was in flight
        assert await raw.recv(0.3) is None  # confirmed: no more retransmissions
    finally:
        await layer.close()


async def test_retransmitted_request_gets_the_cached_response_once_handled() -> None:
    raw = RawUdp()
    calls, handler = _answering(200)
    layer = await _layer(handler)
    try:
        for _ in range(3):
            raw.send(_request("OPTIONS", "dup", port=raw.port), layer.transport.port)
            assert await raw.recv() is not None
        assert calls == ["OPTIONS"]
    finally:
        await layer.close()


async def test_client_and_server_layers_talk_over_tcp() -> None:
    def handler(request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        if txn is not None:
            txn.reply(200)

    server = await _layer(handler)
    client = await _layer()
    try:
        request = parse_message(_request("OPTIONS", "tcp1"))
        assert isinstance(request, SipRequest)
        request.headers.set("Via", str(client.transport.via_for("TCP", "z9hG4bKtcp1")))
        txn = client.send_request(request, Peer("TCP", "127.0.0.1", server.transport.port))
        final = await within(txn.final, 5)
        assert final.status == 200
    finally:
        await client.close()
        await server.close()


async def test_tcp_framing_of_split_and_pipelined_messages() -> None:
    got: list[str] = []

    def handler(request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        got.append(request.call_id)
        if txn is not None:
            txn.reply(200)

    layer = await _layer(handler)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", layer.transport.port)
        one, two = _request("OPTIONS", "p1"), _request("OPTIONS", "p2")
        writer.write(b"\r\n\r\n" + one[:30])
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(one[30:] + two)
        await writer.drain()
        for _ in range(2):
            head = await within(reader.readuntil(b"\r\n\r\n"), 5)
            assert head.startswith(b"SIP/2.0 200")
        assert got == ["p1@test", "p2@test"]
        writer.close()
    finally:
        await layer.close()


def _answer_200(no_ack: list[str]) -> RequestHandler:
    """A TU that answers every request 200 and notes the Call-IDs whose 2xx was never ACKed."""

    def handler(request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        if txn is not None:
            txn.on_no_ack = lambda: no_ack.append(request.call_id)
            txn.reply(200)

    return handler


async def test_unacked_2xx_is_retransmitted_then_reported_to_the_tu() -> None:
    """RFC 3261 §13.3.1.4: a 2xx never ACKed within 64*T1 ends the dialog (the TU sends BYE)."""
    raw = RawUdp()
    no_ack: list[str] = []

    layer = await _layer(_answer_200(no_ack))
    try:
        raw.send(_request("INVITE", "lost-ack", port=raw.port), layer.transport.port)
        copies = 0
        while (data := await raw.recv(0.5)) is not None:
            assert parse_message(data).status == 200  # type: ignore[union-attr]
            copies += 1
        assert copies >= 3  # retransmitted until the Accepted state ends
        assert no_ack == ["lost-ack@test"]
    finally:
        await layer.close()


async def test_acked_2xx_is_not_reported_as_unacked() -> None:
    raw = RawUdp()
    no_ack: list[str] = []

    layer = await _layer(_answer_200(no_ack))
    try:
        raw.send(_request("INVITE", "acked", port=raw.port), layer.transport.port)
        first = await raw.recv()
        assert first is not None
        to = parse_message(first).headers.get("To") or ""
        ack = _request("ACK", "acked-2", port=raw.port)
        ack = ack.replace(b"Call-ID: acked-2@test", b"Call-ID: acked@test")
        ack = ack.replace(b"To: <sip:8001@127.0.0.1>", b"To: " + to.encode())
        raw.send(ack, layer.transport.port)
        await asyncio.sleep(64 * FAST.t1 + 0.5)  # past the end of the Accepted state
        assert no_ack == []
    finally:
        await layer.close()


async def test_invite_gets_a_100_only_when_the_tu_is_slow_or_the_invite_is_retransmitted() -> None:
    """RFC 3261 §17.2.1: a 100 is owed when the TU has not responded within 200 ms (scaled)."""
    raw = RawUdp()
    held: dict[str, ServerTransaction] = {}

    def handler(request: SipRequest, txn: ServerTransaction | None, peer: Peer) -> None:
        if txn is not None:
            txn.trying_unless_answered()
            held[request.call_id] = txn

    slow = Timers(t1=1.0, t2=4.0, t4=4.0)  # a 100 is owed after 400 ms
    layer = TransactionLayer(handler, timers=slow)
    await layer.start("127.0.0.1", 0)
    try:
        # the TU rings at once: the 180 goes out and no 100 follows
        raw.send(_request("INVITE", "fast", port=raw.port), layer.transport.port)
        await eventually_async(lambda: "fast@test" in held)
        held["fast@test"].reply(180)
        first = await raw.recv()
        assert first is not None and parse_message(first).status == 180  # type: ignore[union-attr]
        assert await raw.recv(0.8) is None
        # the TU is silent: the 100 comes after Timers.trying
        raw.send(_request("INVITE", "slow", port=raw.port), layer.transport.port)
        trying = await raw.recv(2.0)
        assert trying is not None and parse_message(trying).status == 100  # type: ignore[union-attr]
        assert await raw.recv(0.6) is None  # once
        # a retransmitted INVITE gets its 100 at once
        raw.send(_request("INVITE", "again", port=raw.port), layer.transport.port)
        await eventually_async(lambda: "again@test" in held)
        raw.send(_request("INVITE", "again", port=raw.port), layer.transport.port)
        at_once = await raw.recv(0.2)  # well before the 400 ms
        assert at_once is not None and parse_message(at_once).status == 100  # type: ignore[union-attr]
    finally:
        await layer.close()


async def test_finished_non_invite_answers_retransmissions_until_timer_j() -> None:
    raw = RawUdp()
    calls, handler = _answering(200)
    layer = await _layer(handler)
    try:
        raw.send(_request("OPTIONS", "linger", port=raw.port), layer.transport.port)
        first = await raw.recv()
        assert first is not None and layer.counts == (1, 0)
        raw.send(_request("OPTIONS", "linger", port=raw.port), layer.transport.port)
        assert await raw.recv() == first  # the very same bytes, the TU not asked again
        assert calls == ["OPTIONS"]
        # timer J (64*T1 = 1.28 s here) ends it; the same request is then a new one
        await eventually_async(lambda: layer.counts == (0, 0), timeout=10)
        raw.send(_request("OPTIONS", "linger", port=raw.port), layer.transport.port)
        assert await raw.recv() is not None
        assert calls == ["OPTIONS", "OPTIONS"]
    finally:
        await layer.close()


async def test_acked_2xx_absorbs_retransmitted_invites_until_timer_l() -> None:
    raw = RawUdp()
    calls, handler = _answering(200)
    layer = await _layer(handler)
    try:
        invite = _request("INVITE", "acked", port=raw.port)
        raw.send(invite, layer.transport.port)
        ok = await raw.recv()
        assert ok is not None
        to = parse_message(ok).headers.get("To") or ""
        ack = (
            _request("ACK", "acked-ack", port=raw.port)
            .replace(b"To: <sip:8001@127.0.0.1>", b"To: " + to.encode())
            .replace(b"Call-ID: acked-ack@test", b"Call-ID: acked@test")
        )
        raw.send(ack, layer.transport.port)
        await eventually_async(lambda: calls == ["INVITE", "ACK"], timeout=5)
        while await raw.recv(0.1) is not None:
            pass  # 2xx retransmissions in flight before the ACK
        raw.send(invite, layer.transport.port)  # a late retransmission: absorbed, no answer
        assert await raw.recv(0.3) is None
        assert calls == ["INVITE", "ACK"] and layer.counts == (1, 0)
        await eventually_async(lambda: layer.counts == (0, 0), timeout=10)  # timer L
    finally:
        await layer.close()


async def _next(raw: RawUdp, start: bytes) -> bytes | None:
    """The next datagram that starts with ``start`` (request retransmissions skipped)."""
    while (data := await raw.recv()) is not None:
        if data.startswith(start):
            return data
    return None


async def test_retransmitted_2xx_gets_the_ack_again_and_finals_are_absorbed() -> None:
    raw = RawUdp()
    strays: list[SipResponse] = []
    layer = await _layer()
    layer.on_stray_response = lambda response, peer: strays.append(response)
    peer = Peer("UDP", "127.0.0.1", raw.port)
    try:
        request = parse_message(_request("INVITE", "uac", port=layer.transport.port))
        assert isinstance(request, SipRequest)
        client = layer.send_request(request, peer)
        sent = await raw.recv()
        assert sent is not None
        ok = (
            b"SIP/2.0 200 OK\r\n"
            + b"\r\n".join(
                line + (b";tag=uas" if line.startswith(b"To:") else b"")
                for line in sent.split(b"\r\n")[1:]
                if line.split(b":")[0] in (b"Via", b"From", b"To", b"Call-ID", b"CSeq")
            )
            + b"\r\nContent-Length: 0\r\n\r\n"
        )
        raw.send(ok, layer.transport.port)
        final = await within(client.final, 5)
        assert final.status == 200 and layer.counts == (0, 1)
        ack = SipRequest(final.headers.copy(), b"", "ACK", "sip:8001@127.0.0.1")
        ack.headers.set("CSeq", "1 ACK")
        layer.send_stateless(ack, peer)
        first_ack = await _next(raw, b"ACK ")
        assert first_ack is not None
        raw.send(ok, layer.transport.port)  # the UAS did not get it: its 2xx again
        assert await _next(raw, b"ACK ") == first_ack
        assert strays == []
        # a non-INVITE: its retransmitted final is absorbed, not a stray
        options = parse_message(_request("OPTIONS", "uac2", port=layer.transport.port))
        assert isinstance(options, SipRequest)
        done = layer.send_request(options, peer)
        sent = await raw.recv()
        assert sent is not None
        answer = sent.replace(b"OPTIONS sip:8001@127.0.0.1 SIP/2.0", b"SIP/2.0 200 OK")
        raw.send(answer, layer.transport.port)
        assert (await within(done.final, 5)).status == 200
        raw.send(answer, layer.transport.port)
        await asyncio.sleep(0.1)
        assert strays == []
        await eventually_async(lambda: layer.counts == (0, 0), timeout=10)  # timers K and M
        raw.send(answer, layer.transport.port)
        await eventually_async(lambda: len(strays) == 1, timeout=5)  # now a stray indeed
    finally:
        await layer.close()


async def test_expiring_table_drops_entries_after_their_time_oldest_first() -> None:
    table: Expiring[str, int] = Expiring(0.2, capacity=3)
    try:
        table.add("a", 1)
        await asyncio.sleep(0.1)
        table.add("b", 2)
        table.add("a", 3)  # replaced: lives 0.2 s from now, not from the first add
        assert (table.get("a"), table.get("b"), len(table)) == (3, 2, 2)
        await asyncio.sleep(0.15)
        assert (table.get("a"), table.get("b")) == (3, 2)
        await eventually_async(lambda: len(table) == 0, timeout=5)
        for index, key in enumerate("wxyz"):
            table.add(key, index)
        assert len(table) == 3 and table.get("w") is None and table.get("z") == 3
    finally:
        table.close()
    assert len(table) == 0
