"""Image pipeline throughput: 2448x2048 BayerRG8 with FFC, black level, gain, WB and gamma on.

Run: /work/venv/bin/python benchmarks/imaging.py [--frames N] [--quick]
`pipeline_fps()` is importable (benchmarks/camera.py prints it with the transport figures).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, replace

import numpy as np

from openpss.imaging import (
    BAYER_RG8,
    ImageSettings,
    SensorModel,
    compute_ffc,
    ffc_calibration_settings,
    pack,
    render_frame,
)

WIDTH, HEIGHT = 2448, 2048


@dataclass(frozen=True)
class PipelineResult:
    """Measured figures of one run."""

    frames: int
    seconds: float
    width: int
    height: int
    cpu_seconds: float = 0.0

    @property
    def fps(self) -> float:
        """Frames per second."""
        return self.frames / self.seconds

    @property
    def mib_s(self) -> float:
        """Output payload MiB per second (BayerRG8: one byte per pixel)."""
        return self.fps * self.width * self.height / 2**20

    @property
    def cpu_fps(self) -> float:
        """Frames per CPU-second of this process (what one core gives when not shared)."""
        return self.frames / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def line(self) -> str:
        """One printable line."""
        return (
            f"imaging pipeline {self.width}x{self.height} BayerRG8 (FFC+black+gain+WB+gamma, "
            f"1 core): {self.fps:.1f} frames/s wall, {self.cpu_fps:.1f} frames per CPU-second, "
            f"{1000 / self.fps:.2f} ms/frame, {self.mib_s:.0f} MiB/s over {self.frames} frames"
        )


def benchmark_settings(sensor: SensorModel) -> ImageSettings:
    """Settings with every stage on, FFC calibrated from dark and flat frames of `sensor`."""
    rng = np.random.default_rng(0)
    cal = ffc_calibration_settings(ImageSettings(), width=WIDTH, height=HEIGHT, color=True)
    sensor.set_scene("flat", 0.0)
    dark = [render_frame(sensor, cal, rng) for _ in range(2)]
    sensor.set_scene("flat", 1.0)
    bright = [render_frame(sensor, cal, rng) for _ in range(2)]
    sensor.set_scene("pattern", 1.0)
    return ImageSettings(
        width=WIDTH,
        height=HEIGHT,
        pixel_format=BAYER_RG8,
        ffc=compute_ffc(dark, bright, "point", color=True),
        ffc_enable=True,
        black_level=64,
        gain_raw=1.5,
        balance_ratio_red=1.8,
        balance_ratio_blue=1.33,
        gamma_enable=True,
        gamma=0.6,
    )


def pipeline_fps(frames: int = 60) -> PipelineResult:
    """Render and pack `frames` frames pinned to one CPU core; returns the measured figures."""
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(previous)})
    try:
        sensor = SensorModel(WIDTH, HEIGHT, seed=1)
        settings = benchmark_settings(sensor)
        rng = np.random.default_rng(1)
        for _ in range(3):  # warm-up: noise bank, plan, buffers
            pack(render_frame(sensor, settings, rng), settings.pixel_format)
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(frames):
            pack(render_frame(sensor, replace(settings), rng), settings.pixel_format)
        cpu = time.process_time() - cpu_start
        return PipelineResult(frames, time.perf_counter() - start, WIDTH, HEIGHT, cpu)
    finally:
        os.sched_setaffinity(0, previous)


def main() -> None:
    """Print the pipeline figure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--quick", action="store_true", help="20 frames")
    args = parser.parse_args()
    print(pipeline_fps(20 if args.quick else args.frames).line())


if __name__ == "__main__":
    main()
