"""The SIP server survives garbage, oversize messages, header floods and slow TCP clients."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openpss.protocols.aio import within
from openpss.protocols.sip.accounts import StaticAccounts
from openpss.protocols.sip.message import SipResponse, parse_message
from openpss.protocols.sip.server import SipServer
from openpss.protocols.sip.transaction import Timers
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent
from tests.support.polling import eventually_async

FAST = Timers(t1=0.05, t2=0.2, t4=0.2)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "sip"


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    server = SipServer(realm="VDP", accounts=StaticAccounts({"8001": "pw"}), timers=FAST)
    server.endpoint.layer.transport.header_timeout = 0.3
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def _still_serves(server: SipServer) -> None:
    ua = UserAgent(
        username="8001", password="pw", server=Peer("UDP", "127.0.0.1", server.port), timers=FAST
    )
    await ua.start()
    assert (await ua.register()).status == 200
    await ua.close()


def _udp() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def _replies(sock: socket.socket, wait: float = 0.3, quiet_by: float = 30.0) -> list[bytes]:
    """What arrives until ``wait`` seconds pass quietly; the server must fall quiet by then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + quiet_by
    out = []
    while loop.time() < deadline:
        try:
            out.append(await within(loop.sock_recv(sock, 65536), wait))
        except TimeoutError:
            return out
    raise AssertionError(f"the server still sends after {quiet_by:g} s: {out[-1][:80]!r}")


async def test_garbage_and_mutated_datagrams(server: SipServer) -> None:
    rng = random.Random(4475)
    sock = _udp()
    valid = (FIXTURES / "golden" / "invite_sdp.sip").read_bytes()
    for index in range(3000):
        if index % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        else:
            mutated = bytearray(valid)
            for _ in range(rng.randrange(1, 12)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            data = bytes(mutated[: rng.randrange(20, len(mutated) + 1)])
        sock.sendto(data, ("127.0.0.1", server.port))
        if index % 200 == 0:
            await asyncio.sleep(0)
    await _replies(sock, 0.2)
    await _still_serves(server)
    assert server.endpoint.layer.transport.dropped > 0
    # every transaction the fuzz opened ended by its timers (none retransmits forever)
    await eventually_async(lambda: server.endpoint.layer.counts == (0, 0), timeout=10)


INVITE_HEAD = (
    b"INVITE sip:9901@127.0.0.1 SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-hdr;rport\r\n"
    b"From: <sip:8001@127.0.0.1>;tag=a\r\n"
    b"To: <sip:9901@127.0.0.1>\r\n"
    b"Call-ID: hdr-1\r\n"
    b"CSeq: 1 INVITE\r\n"
)


@pytest.mark.parametrize("header", [b"Via", b"From", b"To", b"Call-ID", b"CSeq"])
async def test_request_without_a_required_header_opens_no_transaction(
    server: SipServer, header: bytes
) -> None:
    """Regression: an INVITE without Call-ID got a 400 that was retransmitted forever, because
    timer H failed on the missing header before it ended the transaction."""
    sock = _udp()
    lines = [line for line in INVITE_HEAD.split(b"\r\n") if not line.startswith(header + b":")]
    sock.sendto(b"\r\n".join(lines) + b"Content-Length: 0\r\n\r\n", ("127.0.0.1", server.port))
    assert await _replies(sock, 0.3, quiet_by=5) == []  # nothing to address a 400 with: dropped
    assert server.endpoint.layer.counts == (0, 0)
    await _still_serves(server)


async def test_request_with_a_malformed_required_header_gets_one_stateless_400(
    server: SipServer,
) -> None:
    sock = _udp()
    bad = INVITE_HEAD.replace(b"CSeq: 1 INVITE", b"CSeq: one INVITE")
    sock.sendto(bad + b"Content-Length: 0\r\n\r\n", ("127.0.0.1", server.port))
    replies = await _replies(sock, 0.5, quiet_by=5)  # timer G would resend within 0.05 s
    assert len(replies) == 1
    answer = parse_message(replies[0])
    assert isinstance(answer, SipResponse) and answer.status == 400
    assert "CSeq" in answer.reason
    assert server.endpoint.layer.counts == (0, 0)


async def test_rfc4475_malformed_requests_get_400_class_answers_or_are_dropped(
    server: SipServer,
) -> None:
    sock = _udp()
    for path in sorted((FIXTURES / "torture" / "invalid").glob("*.sip")):
        sock.sendto(path.read_bytes(), ("127.0.0.1", server.port))
        for reply in await _replies(sock, 0.15):
            response = parse_message(reply)
            assert isinstance(response, SipResponse)
            assert response.status in (400, 416, 505, 513), (path.name, response.status)
    await _still_serves(server)


async def test_oversize_datagram_and_header_flood(server: SipServer) -> None:
    sock = _udp()
    flood = b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n" + b"X-Flood: a\r\n" * 5000 + b"\r\n"
    sock.sendto(flood[:65000], ("127.0.0.1", server.port))
    await _replies(sock, 0.2)
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
    many = (
        b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKf\r\n"
        b"From: <sip:a@b>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: flood\r\nCSeq: 1 OPTIONS\r\n"
        + headers
        + b"\r\n"
    )
    sock.sendto(many, ("127.0.0.1", server.port))
    replies = await _replies(sock, 0.3)
    assert len(replies) == 1
    answer = parse_message(replies[0])
    assert isinstance(answer, SipResponse) and answer.status == 400
    assert "more than 128 header fields" in answer.reason
    await _still_serves(server)


async def test_slow_and_oversize_tcp_clients_are_cut_off(server: SipServer) -> None:
    slow_reader, slow_writer = await asyncio.open_connection("127.0.0.1", server.port)
    slow_writer.write(b"REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP x")
    await slow_writer.drain()
    # the server closes the connection once the header timeout passes
    assert await within(slow_reader.read(), 10) == b""
    big_reader, big_writer = await asyncio.open_connection("127.0.0.1", server.port)
    big_writer.write(b"OPTIONS sip:x SIP/2.0\r\nX: " + b"a" * 70_000)
    await big_writer.drain()
    assert await within(big_reader.read(), 10) == b""
    bad_reader, bad_writer = await asyncio.open_connection("127.0.0.1", server.port)
    bad_writer.write(b"OPTIONS sip:x SIP/2.0\r\nContent-Length: -5\r\n\r\n")
    await bad_writer.drain()
    assert await within(bad_reader.read(), 10) == b""
    for writer in (slow_writer, big_writer, bad_writer):
        writer.close()
    await _still_serves(server)
    assert server.endpoint.layer.transport.limit.active == 0
