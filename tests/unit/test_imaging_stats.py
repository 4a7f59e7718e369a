"""Statistics helpers for the client (manual: frame rate, bandwidth, loss)."""

from __future__ import annotations

import pytest

from openpss.imaging import AcquisitionStats, bandwidth_mib_s, frame_rate, loss_rate


def test_frame_rate_from_arrivals() -> None:
    assert frame_rate([0, 100_000_000, 200_000_000]) == pytest.approx(10.0)
    assert frame_rate([5]) == 0.0
    assert frame_rate([5, 5]) == 0.0


def test_bandwidth_and_loss() -> None:
    assert bandwidth_mib_s(3 * 1024 * 1024, 2_000_000_000) == pytest.approx(1.5)
    assert bandwidth_mib_s(10, 0) == 0.0
    assert loss_rate(received=98, lost=2) == pytest.approx(2.0)
    assert loss_rate(0, 0) == 0.0


def test_acquisition_stats_snapshot() -> None:
    stats = AcquisitionStats(window=3)
    for i in range(5):
        stats.frame(i * 50_000_000, 1024 * 1024, complete=i != 2)
    stats.lost(1)
    stats.resend(4, 3)
    snap = stats.snapshot(configured_fps=20.0)
    assert snap["measured_fps"] == pytest.approx(20.0)
    assert snap["bandwidth_mib_s"] == pytest.approx(5 / 0.2)
    assert (snap["images_received"], snap["error_images"], snap["lost_images"]) == (5, 1, 1)
    assert snap["loss_rate_percent"] == pytest.approx(100 / 6, abs=1e-3)
    assert (snap["resend_requested"], snap["resend_received"]) == (4, 3)
