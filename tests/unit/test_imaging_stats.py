"""Statistics helpers for the client (manual: frame rate, bandwidth, loss)."""

from __future__ import annotations

import pytest

from openpss.imaging import average_rate, bandwidth_mib_s, frame_rate, loss_rate
from openpss.protocols.gige_vision.receiver import ReceiverStats


def test_frame_rate_from_arrivals() -> None:
    assert frame_rate([0, 100_000_000, 200_000_000]) == pytest.approx(10.0)
    assert frame_rate([5]) == 0.0
    assert frame_rate([5, 5]) == 0.0


def test_bandwidth_and_loss() -> None:
    assert bandwidth_mib_s(3 * 1024 * 1024, 2_000_000_000) == pytest.approx(1.5)
    assert bandwidth_mib_s(10, 0) == 0.0
    assert loss_rate(received=98, lost=2) == pytest.approx(2.0)
    assert loss_rate(0, 0) == 0.0


def test_average_rate() -> None:
    assert average_rate(9, 1_000_000_000) == pytest.approx(9.0)
    assert average_rate(0, 1_000_000_000) == 0.0
    assert average_rate(3, 0) == 0.0


def test_receiver_stats_use_the_same_figures() -> None:
    stats = ReceiverStats(frames_completed=11, frames_failed=1, bytes_received=20 * 1024 * 1024)
    stats.started, stats.first_frame, stats.last_frame = 100.0, 100.5, 102.5
    assert stats.frame_rate == pytest.approx(5.0)  # 10 intervals in 2 s
    assert stats.bandwidth_mib_s == pytest.approx(8.0)  # 20 MiB in 2.5 s
    assert stats.loss_rate == pytest.approx(1 / 12)
    assert stats.as_dict()["frame_loss_rate"] == pytest.approx(0.083333)
    assert ReceiverStats().frame_rate == 0.0
