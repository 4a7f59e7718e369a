"""Acquisition statistics of the manual's client (frame rate, bandwidth, loss) as pure functions.

The GVSP receiver's counters (`protocols.gige_vision.receiver.ReceiverStats`) derive their
figures with these functions.
"""

from __future__ import annotations

from collections.abc import Sequence

MIB = 1024 * 1024


def frame_rate(timestamps_ns: Sequence[int]) -> float:
    """Frames per second over a window of frame arrival times (0 with fewer than two)."""
    if len(timestamps_ns) < 2:
        return 0.0
    return average_rate(len(timestamps_ns) - 1, timestamps_ns[-1] - timestamps_ns[0])


def average_rate(intervals: int, duration_ns: int) -> float:
    """Events per second: `intervals` frame-to-frame intervals spanning `duration_ns`."""
    return intervals * 1e9 / duration_ns if intervals > 0 and duration_ns > 0 else 0.0


def bandwidth_mib_s(byte_count: int, duration_ns: int) -> float:
    """MiB per second of `byte_count` bytes received over `duration_ns`."""
    return byte_count / MIB * 1e9 / duration_ns if duration_ns > 0 else 0.0


def loss_rate(received: int, lost: int) -> float:
    """Frame loss rate in percent of the frames expected (received + lost)."""
    expected = received + lost
    return 100.0 * lost / expected if expected else 0.0
