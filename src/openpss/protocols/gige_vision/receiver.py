"""GVSP receiver (application side): preallocated NumPy frame buffers, resend, statistics.

Two receive paths, chosen by the `use_recvmmsg` constructor flag:
- batched (default on Linux): `recvmmsg(2)` (see `mmsg`) takes up to `RECV_BATCH` datagrams per
  syscall into a staging ring, then each payload is placed into its frame buffer with a slice copy
  (an 8 KB memcpy costs far less than a syscall);
- per packet (fallback): each datagram is scattered by `recvmsg_into` straight into the frame
  buffer at the slot of the packet we expect next; only a packet out of order is moved afterwards.
"""

from __future__ import annotations

import itertools
import logging
import queue
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from openpss.imaging import stats as imaging_stats
from openpss.protocols.gige_vision import gvsp, mmsg
from openpss.protocols.gige_vision.errors import GigEVisionProtocolError
from openpss.protocols.gige_vision.gvsp import PacketFormat

logger = logging.getLogger(__name__)

ResendRequest = Callable[[int, int, int], None]
SOCKET_BUFFER = 64 * 1024 * 1024
FINISHED_MEMORY = 64  # finished block ids remembered to ignore their late duplicates
RECV_BATCH = 64  # datagrams per recvmmsg call
USE_RECVMMSG = True  # default receive path where recvmmsg exists
_PAYLOAD = int(PacketFormat.PAYLOAD)
VECTOR_MIN = 8  # smallest batch whose headers are decoded with NumPy
# GVSP headers of a whole staging ring decoded at once (fields as in gvsp.*_HEADER).
_STANDARD = np.dtype([("status", ">u2"), ("block", ">u2"), ("infos", ">u4")])
_EXTENDED = np.dtype(
    [("status", ">u2"), ("flags", ">u2"), ("infos", ">u4"), ("block", ">u8"), ("packet", ">u4")]
)


@dataclass
class ReceivedFrame:
    """One block: image geometry from the leader and a view on its preallocated buffer."""

    block_id: int
    timestamp: int
    pixel_format: int
    width: int
    height: int
    offset_x: int
    offset_y: int
    data: np.ndarray
    complete: bool
    missing_packets: int = 0
    buffer_index: int = -1

    def image(self) -> np.ndarray:
        """The payload shaped as (height, width[, channels]) for 8/16-bit formats."""
        bits = (self.pixel_format >> 16) & 0xFF
        if bits == 16:
            return self.data.view("<u2").reshape(self.height, self.width)
        channels = max(1, bits // 8)
        if channels == 1:
            return self.data.reshape(self.height, self.width)
        return self.data.reshape(self.height, self.width, channels)


@dataclass
class ReceiverStats:
    """Statistics as MV Viewer shows them (images received, loss, resends, bandwidth)."""

    frames_completed: int = 0
    frames_failed: int = 0
    frames_underrun: int = 0
    packets_underrun: int = 0
    packets_received: int = 0
    packets_missing: int = 0
    packets_resent: int = 0
    resend_requests: int = 0
    packets_late: int = 0  # duplicates arriving after their block was finished (ignored)
    bytes_received: int = 0
    started: float = field(default_factory=time.monotonic)
    first_frame: float = 0.0
    last_frame: float = 0.0

    @property
    def frame_rate(self) -> float:
        """Measured frames per second between the first and the last completed frame."""
        span_ns = round((self.last_frame - self.first_frame) * 1e9)
        return imaging_stats.average_rate(self.frames_completed - 1, span_ns)

    @property
    def bandwidth_mib_s(self) -> float:
        """Received payload MiB per second since start."""
        span_ns = round(((self.last_frame or time.monotonic()) - self.started) * 1e9)
        return imaging_stats.bandwidth_mib_s(self.bytes_received, span_ns)

    @property
    def loss_rate(self) -> float:
        """Failed frames / all frames (a fraction, 0-1)."""
        return imaging_stats.loss_rate(self.frames_completed, self.frames_failed) / 100

    def as_dict(self) -> dict[str, float]:
        """Counters and derived figures for display."""
        return {
            "images_received": self.frames_completed,
            "error_images": self.frames_failed,
            "buffer_underruns": self.frames_underrun,
            "frame_loss_rate": round(self.loss_rate, 6),
            "measured_frame_rate": round(self.frame_rate, 3),
            "bandwidth_mib_s": round(self.bandwidth_mib_s, 3),
            "packets_received": self.packets_received,
            "packets_missing": self.packets_missing,
            "resend_requests": self.resend_requests,
            "packets_resent": self.packets_resent,
            "packets_late": self.packets_late,
        }


class _Block:
    """Reassembly state of one block in flight."""

    __slots__ = (
        "block_id",
        "buffer",
        "buffer_index",
        "got",
        "highest",
        "last_request",
        "last_seen",
        "leader",
        "n_payload",
        "received",
        "requests",
        "size",
        "trailer",
        "view",
    )

    def __init__(self, block_id: int, buffer: np.ndarray, index: int, n_payload: int) -> None:
        self.block_id = block_id
        self.buffer = buffer
        self.view = buffer.data.cast("B")
        self.buffer_index = index
        self.n_payload = n_payload
        self.got = bytearray(n_payload + 2)  # 1 per packet id received (leader .. trailer)
        self.received = 0
        self.highest = 0
        self.leader: gvsp.ImageLeader | None = None
        self.trailer = False
        self.size = 0
        self.last_seen = time.monotonic()  # last packet of this block
        self.last_request = 0.0
        self.requests = 0

    def mark(self, packet_id: int) -> bool:
        """Record a packet id; False if it was already there (a duplicate)."""
        if self.got[packet_id]:
            return False
        self.got[packet_id] = 1
        self.received += 1
        return True

    def missing_ranges(self, upto: int) -> list[tuple[int, int]]:
        """Runs of missing packet ids in 0..upto."""
        got = np.frombuffer(self.got, np.uint8, min(upto + 1, len(self.got)))
        missing = np.flatnonzero(got == 0)
        if missing.size == 0:
            return []
        breaks = np.flatnonzero(np.diff(missing) != 1)
        starts = np.concatenate(([missing[0]], missing[breaks + 1]))
        ends = np.concatenate((missing[breaks], [missing[-1]]))
        return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]

    @property
    def missing(self) -> int:
        """Packet ids (leader to trailer) not received."""
        return self.n_payload + 2 - self.received

    @property
    def complete(self) -> bool:
        """Leader, every payload packet and the trailer are in."""
        return self.trailer and self.received == self.n_payload + 2


class GvspReceiver:
    """Receives one stream channel on a UDP socket in its own thread."""

    def __init__(
        self,
        *,
        bind_host: str = "127.0.0.1",
        payload_size: int,
        packet_size: int,
        n_buffers: int = 8,
        extended_id: bool = False,
        request_resend: ResendRequest | None = None,
        packet_timeout: float = 0.02,
        frame_retention: float = 0.2,
        max_resend_rounds: int = 4,
        use_recvmmsg: bool | None = None,
    ) -> None:
        self.payload_size = payload_size
        self.packet_size = packet_size
        self.extended_id = extended_id
        self.per = gvsp.payload_per_packet(packet_size, extended_id)
        self.n_payload = gvsp.packet_count(payload_size, packet_size, extended_id)
        # Slack of one packet so a scattered datagram never runs past the buffer end.
        self.buffers = [np.empty(self.n_payload * self.per, np.uint8) for _ in range(n_buffers)]
        self._free: queue.SimpleQueue[int] = queue.SimpleQueue()
        for index in range(n_buffers):
            self._free.put(index)
        self.frames: queue.Queue[ReceivedFrame] = queue.Queue()
        self.stats = ReceiverStats()
        self.request_resend = request_resend
        self.packet_timeout = packet_timeout
        self.frame_retention = frame_retention
        self.max_resend_rounds = max_resend_rounds
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        _grow_receive_buffer(self.sock)
        self.sock.bind((bind_host, 0))
        self.sock.settimeout(packet_timeout)
        self.port = int(self.sock.getsockname()[1])
        self._blocks: dict[int, _Block] = {}
        # Recently finished block ids (-> when): a late duplicate (a packet resent twice) must
        # not open a new block that would hold a buffer and then be reported as an error image.
        self._finished: dict[int, float] = {}
        self._underrun_block = -1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hsize = gvsp.header_size(extended_id)
        self._scratch = bytearray(max(65536, packet_size))
        self._scratch_slot = memoryview(bytearray(self.per))
        self._batch = self._make_batch(use_recvmmsg)
        self._header_dtype = _EXTENDED if extended_id else _STANDARD

    def _make_batch(self, use_recvmmsg: bool | None) -> mmsg.BatchReceiver | None:
        """The recvmmsg staging ring, or None for the per-packet recvmsg_into path."""
        if use_recvmmsg is None:
            use_recvmmsg = USE_RECVMMSG and mmsg.available()
        if not use_recvmmsg:
            return None
        if not mmsg.available():
            self.sock.close()
            raise OSError("use_recvmmsg=True but recvmmsg is not available on this platform")
        return mmsg.BatchReceiver(
            self.sock,
            slot_size=self._hsize + self.per,
            batch=RECV_BATCH,
            timeout=self.packet_timeout,
        )

    @property
    def batched(self) -> bool:
        """Whether this receiver uses the recvmmsg path."""
        return self._batch is not None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Start the receiving thread."""
        self.stats = ReceiverStats()
        self._thread = threading.Thread(target=self._run, name="gvsp-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.sock.close()

    def get(self, timeout: float | None = None) -> ReceivedFrame:
        """The next finished frame (complete or failed); raises queue.Empty on timeout."""
        return self.frames.get(timeout=timeout)

    def release(self, frame: ReceivedFrame) -> None:
        """Give a frame's buffer back to the pool."""
        if frame.buffer_index >= 0:
            self._free.put(frame.buffer_index)
            frame.buffer_index = -1

    # ----------------------------------------------------------------- thread

    def _run(self) -> None:
        if self._batch is not None:
            self._run_batched(self._batch)
            return
        header = bytearray(self._hsize)
        hview = memoryview(header)
        scratch = memoryview(self._scratch)
        predicted: tuple[_Block, int] | None = None
        housekeeping = time.monotonic() + self.packet_timeout
        while not self._stop.is_set():
            slot = self._slot(predicted)
            try:
                nbytes, _, _, _ = self.sock.recvmsg_into([hview, slot, scratch])
            except TimeoutError:
                nbytes = -1
            except OSError:
                return
            if nbytes >= 0:
                predicted = self._on_packet(header, slot, nbytes, predicted)
            # Blocks stuck with missing packets are retried or given up even on a busy stream.
            if nbytes < 0 or time.monotonic() >= housekeeping:
                if self._on_idle():
                    predicted = None
                housekeeping = time.monotonic() + self.packet_timeout

    def _run_batched(self, batch: mmsg.BatchReceiver) -> None:
        housekeeping = time.monotonic() + self.packet_timeout
        while not self._stop.is_set():
            try:
                count = batch.receive()
            except OSError:
                return
            if count:
                self._on_batch(batch, count)
            if count == 0 or time.monotonic() >= housekeeping:
                self._on_idle()
                housekeeping = time.monotonic() + self.packet_timeout

    def _on_batch(self, batch: mmsg.BatchReceiver, count: int) -> None:
        """Account a batch: each run of in-order full payload packets of an open block is
        placed with one NumPy copy; every other datagram goes through `_on_packets`."""
        slots, lengths = batch.slots, batch.lengths[:count]
        if count < VECTOR_MIN:  # decoding a few headers with NumPy costs more than it saves
            self._on_packets(slots, lengths, 0, count)
            return
        heads = np.ndarray((count,), self._header_dtype, slots, strides=(slots.strides[0],))
        infos = heads["infos"].astype(np.int64)
        pids = heads["packet"].astype(np.int64) if self.extended_id else infos & 0xFFFFFF
        blocks = heads["block"]
        ok = (
            (heads["status"] == 0)
            & ((infos >> 24) & 0x7F == _PAYLOAD)
            & (lengths == self._hsize + self.per)
        )
        chained = ok[1:] & ok[:-1] & (blocks[1:] == blocks[:-1]) & (pids[1:] == pids[:-1] + 1)
        edges = [0, *(np.flatnonzero(~chained) + 1).tolist(), count]
        for start, end in itertools.pairwise(edges):
            if ok[start] and self._place_run(
                slots, start, end, int(blocks[start]), int(pids[start])
            ):
                continue
            self._on_packets(slots, lengths, start, end)

    def _on_packets(self, slots: np.ndarray, lengths: np.ndarray, start: int, end: int) -> None:
        """Datagrams one by one; the next full payload packet of its block takes a short cut."""
        hsize, per = self._hsize, self.per
        for i in range(start, end):
            header, payload = slots[i, :hsize].data, slots[i, hsize:].data
            nbytes = int(lengths[i])
            status, block_id, fmt, packet_id = self._parse_header(header)
            block = self._blocks.get(block_id)
            if (
                block is None
                or status
                or fmt != _PAYLOAD
                or nbytes != hsize + per
                or packet_id != block.highest + 1
                or packet_id > block.n_payload
            ):
                self._on_packet(header, payload, nbytes, None)
                continue
            offset = (packet_id - 1) * per
            block.view[offset : offset + per] = payload
            block.got[packet_id] = 1
            block.received += 1
            block.size += per
            block.highest = packet_id
            block.last_seen = time.monotonic()
            self.stats.packets_received += 1
            self.stats.bytes_received += per

    def _place_run(
        self, slots: np.ndarray, start: int, end: int, block_id: int, first: int
    ) -> bool:
        """Copy full payload packets first.. (the next ids the block expects); False if not."""
        block = self._blocks.get(block_id)
        n = end - start
        if block is None or first != block.highest + 1 or first + n - 1 > block.n_payload:
            return False
        offset = (first - 1) * self.per
        target = block.buffer[offset : offset + n * self.per].reshape(n, self.per)
        target[...] = slots[start:end, self._hsize :]
        block.got[first : first + n] = b"\x01" * n
        block.received += n
        block.size += n * self.per
        block.highest = first + n - 1
        block.last_seen = time.monotonic()
        self.stats.packets_received += n
        self.stats.bytes_received += n * self.per
        return True

    def _slot(self, predicted: tuple[_Block, int] | None) -> memoryview:
        if predicted is None:
            return self._scratch_slot
        block, packet_id = predicted
        start = (packet_id - 1) * self.per
        return block.view[start : start + self.per]

    def _on_packet(
        self,
        header: bytearray | memoryview,
        slot: memoryview,
        nbytes: int,
        predicted: tuple[_Block, int] | None,
    ) -> tuple[_Block, int] | None:
        """Account one datagram; returns the (block, packet id) expected next."""
        if nbytes < self._hsize:
            return predicted
        status, block_id, fmt, packet_id = self._parse_header(header)
        if status & 0x8000:
            return predicted  # PACKET_UNAVAILABLE: the block will time out
        block = self._blocks.get(block_id)
        if block is None:
            if self._is_late(block_id):
                self.stats.packets_late += 1
                return predicted
            block = self._new_block(block_id)
            if block is None:
                return None
        stats = self.stats
        stats.packets_received += 1
        if status == gvsp.STATUS_RESEND:
            stats.packets_resent += 1
        block.last_seen = time.monotonic()
        data_len = nbytes - self._hsize
        if fmt == PacketFormat.PAYLOAD:
            if 1 <= packet_id <= block.n_payload and data_len <= self.per and block.mark(packet_id):
                in_place = predicted is not None and predicted[0] is block
                if not (in_place and predicted is not None and predicted[1] == packet_id):
                    start = (packet_id - 1) * self.per
                    block.view[start : start + data_len] = slot[:data_len]
                block.size += data_len
                stats.bytes_received += data_len
        elif fmt == PacketFormat.LEADER:
            if block.mark(0):
                self._store_leader(block, header, slot, data_len)
        elif fmt == PacketFormat.TRAILER:
            self._store_trailer(block, packet_id)
        if packet_id > block.highest + 1:
            self._request(block, block.highest + 1, packet_id - 1)
        if packet_id > block.highest:
            block.highest = packet_id
        if block.complete:
            self._finish(block, complete=True)
            return None
        nxt = packet_id + 1
        if nxt <= block.n_payload and not block.got[nxt]:
            return (block, nxt)
        return None

    def _parse_header(self, header: bytearray | memoryview) -> tuple[int, int, int, int]:
        if self.extended_id:
            status, _, infos, block_id, packet_id = gvsp.EXTENDED_HEADER.unpack_from(header)
            return status, block_id, (infos >> 24) & 0x7F, packet_id
        status, block_id, infos = gvsp.STANDARD_HEADER.unpack_from(header)
        return status, block_id, (infos >> 24) & 0x7F, infos & 0xFFFFFF

    def _is_late(self, block_id: int) -> bool:
        """Whether packets of this block id belong to a block finished moments ago."""
        finished = self._finished.get(block_id)
        return finished is not None and time.monotonic() - finished < self.frame_retention

    def _new_block(self, block_id: int) -> _Block | None:
        try:
            index = self._free.get_nowait()
        except queue.Empty:
            self.stats.packets_underrun += 1
            if block_id != self._underrun_block:  # count each dropped block once
                self._underrun_block = block_id
                self.stats.frames_underrun += 1
            return None
        block = _Block(block_id, self.buffers[index], index, self.n_payload)
        self._blocks[block_id] = block
        return block

    def _store_leader(
        self, block: _Block, header: bytearray | memoryview, slot: memoryview, n: int
    ) -> None:
        raw = bytes(header) + bytes(slot[: min(n, len(slot))])
        try:
            block.leader = gvsp.ImageLeader.parse(raw)
        except GigEVisionProtocolError as exc:
            logger.debug("unusable leader for block %d: %s", block.block_id, exc)

    def _store_trailer(self, block: _Block, packet_id: int) -> None:
        n_payload = packet_id - 1
        if block.trailer or not 1 <= n_payload <= self.n_payload:
            return  # a duplicate, or a block larger than the buffers (PayloadSize changed)
        block.trailer = True
        block.n_payload = n_payload
        block.mark(packet_id)

    def _request(self, block: _Block, first: int, last: int) -> None:
        if self.request_resend is None:
            return
        self.stats.resend_requests += 1
        try:
            self.request_resend(block.block_id, first, last)
        except OSError as exc:
            logger.debug("resend request failed: %s", exc)

    def _on_idle(self) -> bool:
        """Re-request missing packets of quiet blocks, give up stale ones; True if one was."""
        now = time.monotonic()
        gave_up = False
        for block in list(self._blocks.values()):
            quiet = now - block.last_seen
            if quiet < self.packet_timeout or now - block.last_request < self.packet_timeout:
                continue
            exhausted = block.requests >= self.max_resend_rounds or self.request_resend is None
            if quiet >= self.frame_retention or (
                exhausted and quiet >= self.packet_timeout * (self.max_resend_rounds + 1)
            ):
                self._finish(block, complete=False)
                gave_up = True
            elif not exhausted:
                # First round: only the gaps below what arrived (the sender may still be busy);
                # later rounds: everything missing up to the trailer.
                upto = block.highest if block.requests == 0 and not block.trailer else None
                block.requests += 1
                block.last_request = now
                for first, last in block.missing_ranges(upto or block.n_payload + 1):
                    self._request(block, first, last)
        return gave_up

    def _finish(self, block: _Block, *, complete: bool) -> None:
        self._blocks.pop(block.block_id, None)
        self._finished.pop(block.block_id, None)
        self._finished[block.block_id] = time.monotonic()
        if len(self._finished) > FINISHED_MEMORY:
            del self._finished[next(iter(self._finished))]
        leader = block.leader
        if leader is None:
            complete = False
        if complete:
            self.stats.frames_completed += 1
            now = time.monotonic()
            self.stats.first_frame = self.stats.first_frame or now
            self.stats.last_frame = now
        else:
            self.stats.frames_failed += 1
            self.stats.packets_missing += block.missing
        self.frames.put(
            ReceivedFrame(
                block_id=block.block_id,
                timestamp=leader.timestamp if leader else 0,
                pixel_format=leader.pixel_format if leader else 0,
                width=leader.width if leader else 0,
                height=leader.height if leader else 0,
                offset_x=leader.offset_x if leader else 0,
                offset_y=leader.offset_y if leader else 0,
                data=block.buffer[: block.size],
                complete=complete,
                missing_packets=block.missing,
                buffer_index=block.buffer_index,
            )
        )


def _grow_receive_buffer(sock: socket.socket) -> None:
    force = getattr(socket, "SO_RCVBUFFORCE", 33)
    try:
        sock.setsockopt(socket.SOL_SOCKET, force, SOCKET_BUFFER)
    except OSError:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)


__all__ = ["GvspReceiver", "ReceivedFrame", "ReceiverStats", "struct"]
