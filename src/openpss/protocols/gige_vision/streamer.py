"""GVSP streamer (device side): packetises blocks, paces them, keeps a ring for resends.

A dedicated thread sends, so the asyncio loop that answers GVCP is never blocked by a frame.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import random
import socket
import threading
import time
from dataclasses import dataclass

from openpss.protocols.gige_vision import gvsp
from openpss.protocols.gige_vision.gvsp import GvspHeader, PacketFormat

logger = logging.getLogger(__name__)

# Frame memory kept for PACKETRESEND (at 2048x2048 Mono8: the last 32 frames).
RING_BYTES = 128 * 2**20


@dataclass(frozen=True)
class StreamBlock:
    """One image block to send: ids, image geometry and the payload bytes."""

    block_id: int
    timestamp: int
    pixel_format: int
    width: int
    height: int
    offset_x: int
    offset_y: int
    payload: bytes | memoryview


@dataclass
class StreamConfig:
    """Where and how to stream (from the stream channel registers)."""

    destination: str = "0.0.0.0"
    port: int = 0
    packet_size: int = 1500
    packet_delay_ns: int = 0
    extended_id: bool = False


@dataclass
class StreamerStats:
    """Counters for logs and tests."""

    blocks_sent: int = 0
    blocks_dropped: int = 0
    packets_sent: int = 0
    packets_dropped: int = 0
    packets_resent: int = 0
    resend_unavailable: int = 0


class GvspStreamer:
    """Sends StreamBlocks to the configured destination from its own thread."""

    def __init__(
        self,
        *,
        bind_host: str,
        ring_size: int = 4096,
        ring_bytes: int = RING_BYTES,
        lost_ratio: float = 0.0,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= lost_ratio < 1.0:
            raise ValueError(f"lost ratio {lost_ratio} must be in [0, 1)")
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)
        self.sock.bind((bind_host, 0))
        self.source_port = int(self.sock.getsockname()[1])
        self.config = StreamConfig()
        self.lost_ratio = lost_ratio
        self.stats = StreamerStats()
        self._random = random.Random(seed)
        self._ring: collections.OrderedDict[int, StreamBlock] = collections.OrderedDict()
        self._ring_size = ring_size
        self._ring_bytes = ring_bytes
        self._ring_used = 0
        self._queue: queue.Queue[StreamBlock | None] = queue.Queue(maxsize=4)
        self._resends: collections.deque[tuple[int, int, int]] = collections.deque()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="gvsp-streamer", daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- public API

    def configure(self, config: StreamConfig) -> None:
        """Replace the destination / packet size / delay (applies from the next packet)."""
        with self._lock:
            self.config = config

    def submit(self, block: StreamBlock) -> bool:
        """Queue a block for sending; False (block dropped) when the sender is saturated."""
        try:
            self._queue.put_nowait(block)
        except queue.Full:
            self.stats.blocks_dropped += 1
            logger.debug("streamer busy: dropping block %d", block.block_id)
            return False
        return True

    def resend(self, block_id: int, first: int, last: int) -> None:
        """Schedule packets first..last of a block to be sent again."""
        self._resends.append((block_id, first, last))
        self._wake()

    def fire_test_packet(self) -> None:
        """Send one packet of exactly the configured size (GigE Vision test packet)."""
        cfg = self.config
        if cfg.port:
            size = cfg.packet_size - gvsp.IP_UDP_OVERHEAD
            self._sendto(bytes(size), cfg)

    def close(self) -> None:
        """Stop the thread and close the socket."""
        self._queue.put(None)
        self._thread.join(timeout=5)
        self.sock.close()

    # ----------------------------------------------------------------- thread

    def _wake(self) -> None:
        if self._queue.empty():
            with contextlib.suppress(queue.Full):
                self._queue.put_nowait(_WAKE)

    def _run(self) -> None:
        while True:
            block = self._queue.get()
            if block is None:
                return
            self._serve_resends()
            if block is not _WAKE:
                try:
                    self._send_block(block)
                except OSError as exc:
                    logger.warning("GVSP send failed: %s", exc)
            self._serve_resends()

    def _send_block(self, block: StreamBlock) -> None:
        with self._lock:
            cfg = self.config
            self._ring[block.block_id] = block
            self._ring_used += memoryview(block.payload).nbytes
            # Keep recent blocks up to a memory budget, as a camera's frame memory does.
            while len(self._ring) > 1 and (
                len(self._ring) > self._ring_size or self._ring_used > self._ring_bytes
            ):
                _, old = self._ring.popitem(last=False)
                self._ring_used -= memoryview(old.payload).nbytes
        if not cfg.port or cfg.destination == "0.0.0.0":
            return
        last = packet_total(block, cfg) - 1
        self._send_range(block, 0, last, cfg, resend=False)
        self.stats.blocks_sent += 1

    def _send_range(
        self, block: StreamBlock, first: int, last: int, cfg: StreamConfig, *, resend: bool
    ) -> None:
        total = packet_total(block, cfg)
        status = gvsp.STATUS_RESEND if resend else 0
        low, high = first, min(last, total - 1)
        if low == 0:  # the leader is never dropped on purpose: it opens the block
            self._sendto(bytes(_leader(block, cfg, status)), cfg)
            self.stats.packets_sent += 1
            low = 1
        trailer = high == total - 1
        self._send_payloads(block, low, high - 1 if trailer else high, cfg, status)
        if trailer and not self._drop(resend):
            header = _header(status, block.block_id, PacketFormat.TRAILER, total - 1, cfg)
            self._sendto(header + gvsp.TRAILER.pack(gvsp.PAYLOAD_TYPE_IMAGE, block.height), cfg)
            self.stats.packets_sent += 1

    def _drop(self, resend: bool) -> bool:
        """True when `--lost-ratio` drops this (first-time) packet; counted."""
        if resend or not self.lost_ratio or self._random.random() >= self.lost_ratio:
            return False
        self.stats.packets_dropped += 1
        return True

    def _send_payloads(
        self, block: StreamBlock, low: int, high: int, cfg: StreamConfig, status: int
    ) -> None:
        """Payload packets low..high: the hot loop, one sendmsg (header + slice) per packet."""
        per = gvsp.payload_per_packet(cfg.packet_size, cfg.extended_id)
        view = memoryview(block.payload).cast("B")
        resend = status == gvsp.STATUS_RESEND
        sendmsg, addr, delay = self.sock.sendmsg, _addr(cfg), cfg.packet_delay_ns
        next_at = time.perf_counter_ns()
        sent = 0
        for packet_id in range(low, high + 1):
            if self.lost_ratio and self._drop(resend):
                continue
            if delay:
                next_at = _pace(next_at, delay)
            header = _header(status, block.block_id, PacketFormat.PAYLOAD, packet_id, cfg)
            start = (packet_id - 1) * per
            sendmsg([header, view[start : start + per]], [], 0, addr)
            sent += 1
            if packet_id & 63 == 63 and self._resends and not resend:
                self._serve_resends()
        self.stats.packets_sent += sent

    def _sendto(self, data: bytes, cfg: StreamConfig) -> None:
        self.sock.sendto(data, _addr(cfg))

    def _serve_resends(self) -> None:
        while self._resends:
            block_id, first, last = self._resends.popleft()
            with self._lock:
                block = self._ring.get(block_id)
                cfg = self.config
            if not cfg.port:
                continue
            if block is None:
                self.stats.resend_unavailable += 1
                self._send_unavailable(block_id, first, cfg)
                continue
            self.stats.packets_resent += last - first + 1
            try:
                self._send_range(block, first, last, cfg, resend=True)
            except OSError as exc:
                logger.warning("GVSP resend failed: %s", exc)

    def _send_unavailable(self, block_id: int, packet_id: int, cfg: StreamConfig) -> None:
        # GigE Vision 2.0 §24.5: a packet we no longer hold is answered by a header-only packet
        # with status PACKET_UNAVAILABLE.
        header = GvspHeader(0x800C, block_id, PacketFormat.PAYLOAD, packet_id, cfg.extended_id)
        try:
            self._sendto(bytes(header), cfg)
        except (OSError, ValueError) as exc:
            logger.debug("cannot send PACKET_UNAVAILABLE: %s", exc)


_WAKE = StreamBlock(0, 0, 0, 0, 0, 0, 0, b"")


def packet_total(block: StreamBlock, cfg: StreamConfig) -> int:
    """Leader + payload packets + trailer for a block."""
    payload_size = memoryview(block.payload).nbytes
    return gvsp.packet_count(payload_size, cfg.packet_size, cfg.extended_id) + 2


def _leader(block: StreamBlock, cfg: StreamConfig, status: int) -> gvsp.ImageLeader:
    header = GvspHeader(status, block.block_id, PacketFormat.LEADER, 0, cfg.extended_id)
    return gvsp.ImageLeader(
        header,
        block.timestamp,
        block.pixel_format,
        block.width,
        block.height,
        block.offset_x,
        block.offset_y,
    )


def _header(status: int, block_id: int, fmt: int, packet_id: int, cfg: StreamConfig) -> bytes:
    """GVSP header bytes (the per-packet fast path of GvspHeader.__bytes__)."""
    if cfg.extended_id:
        return gvsp.EXTENDED_HEADER.pack(status, 0, (gvsp.EI_FLAG | fmt) << 24, block_id, packet_id)
    return gvsp.STANDARD_HEADER.pack(status, block_id, (fmt << 24) | packet_id)


def _addr(cfg: StreamConfig) -> tuple[str, int]:
    return (cfg.destination, cfg.port)


def _pace(next_at: int, delay_ns: int) -> int:
    """Wait until `next_at`, then return the next deadline (packet delay in ns)."""
    now = time.perf_counter_ns()
    if next_at > now:
        wait = next_at - now
        if wait > 200_000:
            time.sleep(wait / 1e9)
        while time.perf_counter_ns() < next_at:
            pass
    return max(next_at, now) + delay_ns
