"""GVSP receiver fed hand-made packets on 127.0.0.1: reordering, loss, resend, zero-copy."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from openpss.protocols.gige_vision import gvsp
from openpss.protocols.gige_vision.gvsp import GvspHeader, PacketFormat
from openpss.protocols.gige_vision.receiver import GvspReceiver
from tests.support.polling import eventually

PACKET = 576  # 540 data bytes per packet (standard ids)
WIDTH, HEIGHT = 60, 30  # 1800 bytes: 4 payload packets (3 x 540 + 180)


def packets(
    block: int, image: bytes, *, extended: bool = False, width: int = WIDTH, height: int = HEIGHT
) -> list[bytes]:
    per = gvsp.payload_per_packet(PACKET, extended)
    chunks = [image[i : i + per] for i in range(0, len(image), per)]
    leader = gvsp.ImageLeader(
        GvspHeader(0, block, PacketFormat.LEADER, 0, extended), 1234, 0x01080001, width, height
    )
    out = [bytes(leader)]
    for pid, chunk in enumerate(chunks, start=1):
        out.append(bytes(GvspHeader(0, block, PacketFormat.PAYLOAD, pid, extended)) + chunk)
    trailer = GvspHeader(0, block, PacketFormat.TRAILER, len(chunks) + 1, extended)
    out.append(bytes(gvsp.Trailer(trailer, height)))
    return out


@pytest.fixture
def sender() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    yield sock
    sock.close()


@pytest.fixture(params=[True, False], ids=["recvmmsg", "recvmsg_into"])
def batched(request: pytest.FixtureRequest) -> bool:
    """Both receive paths: batched recvmmsg and the per-packet recvmsg_into fallback."""
    return bool(request.param)


def make(requests: list[tuple[int, int, int]], batched: bool, **kw: Any) -> GvspReceiver:
    receiver = GvspReceiver(
        payload_size=WIDTH * HEIGHT,
        packet_size=PACKET,
        n_buffers=2,
        request_resend=lambda b, f, last: requests.append((b, f, last)),
        use_recvmmsg=batched,
        **kw,
    )
    assert receiver.batched is batched
    receiver.start()
    return receiver


IMAGE = bytes(np.arange(WIDTH * HEIGHT, dtype=np.uint32).astype(np.uint8))


def test_in_order_block_lands_in_preallocated_buffer(sender: socket.socket, batched: bool) -> None:
    requests: list[tuple[int, int, int]] = []
    receiver = make(requests, batched)
    try:
        for raw in packets(5, IMAGE):
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert frame.complete and frame.block_id == 5 and frame.timestamp == 1234
        assert frame.data.tobytes() == IMAGE and frame.image().shape == (HEIGHT, WIDTH)
        assert np.shares_memory(frame.data, receiver.buffers[frame.buffer_index])  # zero-copy
        assert requests == []
    finally:
        receiver.stop()


def test_out_of_order_and_duplicate_packets(sender: socket.socket, batched: bool) -> None:
    requests: list[tuple[int, int, int]] = []
    receiver = make(requests, batched)
    try:
        sent = packets(6, IMAGE)
        order = [sent[0], sent[3], sent[1], sent[1], sent[2], sent[4], sent[5]]
        for raw in order:
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert frame.complete and frame.data.tobytes() == IMAGE
        assert requests == [(6, 1, 2)]  # the gap seen when packet 3 came before 1 and 2
    finally:
        receiver.stop()


def test_missing_packet_is_requested_then_recovered(sender: socket.socket, batched: bool) -> None:
    requests: list[tuple[int, int, int]] = []
    receiver = make(requests, batched)
    try:
        sent = packets(7, IMAGE)
        for raw in sent[:2] + sent[3:]:  # packet 2 lost
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        # The gap is noticed at packet 3; the resent packet (status 0x0100) completes the block.
        resent = bytearray(sent[2])
        resent[0:2] = gvsp.STATUS_RESEND.to_bytes(2, "big")
        eventually(lambda: bool(requests), what="a resend request", interval=0.001)
        sender.sendto(bytes(resent), ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert requests[0] == (7, 2, 2)
        assert frame.complete and frame.data.tobytes() == IMAGE
        assert receiver.stats.packets_resent == 1
    finally:
        receiver.stop()


def test_unrecoverable_block_is_reported_as_error_image(
    sender: socket.socket, batched: bool
) -> None:
    requests: list[tuple[int, int, int]] = []
    receiver = make(requests, batched, packet_timeout=0.01, max_resend_rounds=2)
    try:
        sent = packets(8, IMAGE)
        for raw in sent[:2] + sent[3:]:
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        unavailable = bytes(GvspHeader(0x800C, 8, PacketFormat.PAYLOAD, 2))
        sender.sendto(unavailable, ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert not frame.complete and frame.missing_packets == 1
        assert receiver.stats.frames_failed == 1 and receiver.stats.loss_rate == 1.0
        assert len(requests) >= 2  # the gap, then the retry rounds
    finally:
        receiver.stop()


def test_extended_ids(sender: socket.socket, batched: bool) -> None:
    requests: list[tuple[int, int, int]] = []
    receiver = GvspReceiver(
        payload_size=WIDTH * HEIGHT,
        packet_size=PACKET,
        n_buffers=2,
        extended_id=True,
        use_recvmmsg=batched,
    )
    receiver.start()
    try:
        for raw in packets(0x1_0000_0001, IMAGE, extended=True):
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert frame.complete and frame.block_id == 0x1_0000_0001
        assert frame.data.tobytes() == IMAGE
    finally:
        receiver.stop()
    assert requests == []


def test_buffer_underrun_when_application_keeps_every_buffer(
    sender: socket.socket, batched: bool
) -> None:
    receiver = make([], batched)
    try:
        held = []
        for block in (1, 2, 3):
            for raw in packets(block, IMAGE):
                sender.sendto(raw, ("127.0.0.1", receiver.port))
            if block < 3:
                held.append(receiver.get(timeout=5))
        eventually(
            lambda: receiver.stats.packets_underrun == 6, what="6 underruns", interval=0.001
        )  # all of block 3 dropped
        receiver.release(held[0])
        for raw in packets(5, IMAGE):
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert frame.block_id == 5 and frame.complete  # block 3 was dropped, not queued
        assert receiver.stats.frames_underrun == 1
    finally:
        receiver.stop()


def test_streamer_resends_from_ring_and_reports_evicted_blocks() -> None:
    from openpss.protocols.gige_vision.streamer import GvspStreamer, StreamBlock, StreamConfig

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(5)
        streamer = GvspStreamer(bind_host="127.0.0.1", ring_size=1)
        try:
            streamer.configure(StreamConfig("127.0.0.1", sink.getsockname()[1], PACKET))
            for block in (1, 2):
                streamer.submit(StreamBlock(block, 99, 0x01080001, WIDTH, HEIGHT, 0, 0, IMAGE))
                for _ in range(6):  # leader, 4 payload packets, trailer
                    sink.recv(2048)
            streamer.resend(2, 2, 3)  # still in the ring
            resent = [GvspHeader.parse(sink.recv(2048)) for _ in range(2)]
            assert [(h.status, h.block_id, h.packet_id) for h in resent] == [
                (gvsp.STATUS_RESEND, 2, 2),
                (gvsp.STATUS_RESEND, 2, 3),
            ]
            streamer.resend(1, 2, 2)  # evicted by block 2
            gone = GvspHeader.parse(sink.recv(2048))
            assert (gone.status, gone.block_id, gone.packet_id) == (0x800C, 1, 2)
            assert streamer.stats.resend_unavailable == 1
        finally:
            streamer.close()


def test_streamer_lost_ratio_drops_packets_but_never_the_leader() -> None:
    from openpss.protocols.gige_vision.streamer import GvspStreamer, StreamBlock, StreamConfig

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sink:
        sink.bind(("127.0.0.1", 0))
        sink.settimeout(0.5)
        streamer = GvspStreamer(bind_host="127.0.0.1", lost_ratio=0.5, seed=3)
        try:
            streamer.configure(StreamConfig("127.0.0.1", sink.getsockname()[1], PACKET))
            streamer.submit(StreamBlock(1, 0, 0x01080001, WIDTH, HEIGHT, 0, 0, IMAGE))
            seen = []
            with pytest.raises(TimeoutError):
                while True:
                    seen.append(GvspHeader.parse(sink.recv(2048)).packet_id)
            assert seen[0] == 0  # the leader is never dropped
            assert len(seen) == 6 - streamer.stats.packets_dropped
        finally:
            streamer.close()


def test_late_duplicate_of_a_finished_block_is_ignored(
    sender: socket.socket, batched: bool
) -> None:
    requests: list[tuple[int, int, int]] = []
    receiver = make(requests, batched, frame_retention=5.0)
    try:
        sent = packets(8, IMAGE)
        for raw in sent:
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        assert receiver.get(timeout=5).complete
        # The same packet resent twice: the second copy comes after the block is complete.
        resent = bytearray(sent[2])
        resent[0:2] = gvsp.STATUS_RESEND.to_bytes(2, "big")
        sender.sendto(bytes(resent), ("127.0.0.1", receiver.port))
        for raw in packets(9, IMAGE):
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        frame = receiver.get(timeout=5)
        assert frame.block_id == 9 and frame.complete  # no phantom block 8 took a buffer
        assert receiver.stats.packets_late == 1
        assert receiver.stats.frames_failed == 0 and receiver.frames.empty()
    finally:
        receiver.stop()


@pytest.mark.parametrize("extended", [False, True], ids=["standard", "extended"])
def test_backlog_is_placed_in_batches(sender: socket.socket, batched: bool, extended: bool) -> None:
    """Datagrams queued before the thread starts arrive as one big recvmmsg batch: in-order runs
    are copied whole, a swapped pair, a duplicate and a packet of another block are not."""
    width, height = 540, 20  # 20 full payload packets per block (21 with extended ids)
    image = bytes(np.arange(width * height, dtype=np.uint32).astype(np.uint8) ^ 0x5A)
    requests: list[tuple[int, int, int]] = []
    receiver = GvspReceiver(
        payload_size=width * height,
        packet_size=PACKET,
        n_buffers=4,
        extended_id=extended,
        request_resend=lambda b, f, last: requests.append((b, f, last)),
        use_recvmmsg=batched,
    )
    try:
        first = packets(1, image, extended=extended, width=width, height=height)
        second = packets(2, image[::-1], extended=extended, width=width, height=height)
        second[5], second[6] = second[6], second[5]
        backlog = [*first[:10], second[0], first[3], *first[10:], *second[1:]]
        for raw in backlog:
            sender.sendto(raw, ("127.0.0.1", receiver.port))
        receiver.start()
        frames = sorted((receiver.get(timeout=5) for _ in range(2)), key=lambda f: f.block_id)
        assert [f.complete for f in frames] == [True, True]
        assert frames[0].data.tobytes() == image and frames[1].data.tobytes() == image[::-1]
        assert requests == [(2, 5, 5)]  # the gap seen when packet 6 came before packet 5
        assert receiver.stats.packets_received == len(backlog)  # the duplicate counts
        assert receiver.stats.bytes_received == 2 * len(image)
    finally:
        receiver.stop()
