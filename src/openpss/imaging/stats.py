"""Acquisition statistics of the manual's client (frame rate, bandwidth, loss) as pure functions."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

MIB = 1024 * 1024


def frame_rate(timestamps_ns: Sequence[int]) -> float:
    """Frames per second over a window of frame arrival times (0 with fewer than two)."""
    if len(timestamps_ns) < 2 or timestamps_ns[-1] <= timestamps_ns[0]:
        return 0.0
    return (len(timestamps_ns) - 1) * 1e9 / (timestamps_ns[-1] - timestamps_ns[0])


def bandwidth_mib_s(byte_count: int, duration_ns: int) -> float:
    """MiB per second of `byte_count` bytes received over `duration_ns`."""
    return byte_count / MIB * 1e9 / duration_ns if duration_ns > 0 else 0.0


def loss_rate(received: int, lost: int) -> float:
    """Frame loss rate in percent of the frames expected (received + lost)."""
    expected = received + lost
    return 100.0 * lost / expected if expected else 0.0


@dataclass
class AcquisitionStats:
    """Running counters of one acquisition; the caller passes the time (monotonic ns)."""

    window: int = 30
    images_received: int = 0
    error_images: int = 0
    lost_images: int = 0
    resend_requested: int = 0
    resend_received: int = 0
    bytes_received: int = 0
    started_ns: int | None = None
    last_ns: int | None = None
    _arrivals: deque[int] = field(default_factory=deque, repr=False)

    def frame(self, now_ns: int, size: int, *, complete: bool = True) -> None:
        """Count a received frame (complete=False: delivered with missing packets)."""
        if self.started_ns is None:
            self.started_ns = now_ns
        self.last_ns = now_ns
        self.images_received += 1
        self.bytes_received += size
        self.error_images += 0 if complete else 1
        self._arrivals.append(now_ns)
        while len(self._arrivals) > self.window:
            self._arrivals.popleft()

    def lost(self, count: int = 1) -> None:
        """Count frames that never arrived (block id gap or timeout)."""
        self.lost_images += count

    def resend(self, requested: int, received: int = 0) -> None:
        """Count packet resend requests sent and resent packets received."""
        self.resend_requested += requested
        self.resend_received += received

    def snapshot(self, configured_fps: float | None = None) -> dict[str, float | int | None]:
        """The figures the client shows: configured and measured fps, MiB/s, counts, loss %."""
        duration = (self.last_ns or 0) - (self.started_ns or 0)
        return {
            "configured_fps": configured_fps,
            "measured_fps": round(frame_rate(list(self._arrivals)), 3),
            "bandwidth_mib_s": round(bandwidth_mib_s(self.bytes_received, duration), 3),
            "images_received": self.images_received,
            "error_images": self.error_images,
            "lost_images": self.lost_images,
            "loss_rate_percent": round(loss_rate(self.images_received, self.lost_images), 3),
            "resend_requested": self.resend_requested,
            "resend_received": self.resend_received,
        }
