"""GigE Vision throughput at 2048x2048 Mono8 with 8192-byte packets, against Aravis as the judge.

Prints, in one run:
  1. what `arv-camera-test-0.8` receives from our camera (frames/s, MiB/s, failed buffers);
  2. what it receives from Aravis's `arv-fake-gv-camera-0.8`;
  3. what our GVSP receiver gets from Aravis's camera (and from ours);
  4. the image pipeline figure from benchmarks/imaging.py.
Aravis discovers by broadcast, so the script re-runs itself inside a private network namespace
(`unshare -n`, loopback only). Run: /work/venv/bin/python benchmarks/camera.py [--duration S]
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

WIDTH = HEIGHT = 2048
PACKET_SIZE = 8192
EXPOSURE_US = 1000  # short, so that exposure does not cap the frame rate
NETNS_FLAG = "OPENPSS_CAMERA_BENCH_NETNS"
ROOT = Path(__file__).resolve().parents[1]
FAKE_SETTINGS: tuple[str, ...] = ("AcquisitionFrameRate", "ExposureTimeAbs", "Width", "Height")
FAKE_SETTINGS += ("PixelFormat", "GevSCPSPacketSize")
OUR_SETTINGS: tuple[str, ...] = (
    "AcquisitionFrameRateEnable",
    "AcquisitionFrameRate",
    "ResultingFrameRateAbs",
)
OUR_SETTINGS += ("ExposureTime", "Width", "Height", "PixelFormat", "GevSCPSPacketSize")


@dataclass
class Figure:
    """Throughput of one sender/receiver pair."""

    label: str
    fps: float
    mib_s: float
    completed: int
    failed: int

    def line(self) -> str:
        """One printable line."""
        return (
            f"{self.label:55} {self.fps:7.1f} frames/s {self.mib_s:8.1f} MiB/s "
            f"completed={self.completed} failed={self.failed}"
        )


# root may create a network namespace directly; other users need a user namespace too.
NETNS_OPTION = "-n" if os.geteuid() == 0 else "-rn"


def _wait_for_camera(timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = subprocess.run(
            ["arv-tool-0.8", "-a", "127.0.0.1", "control", "Width"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if "Width =" in probe.stdout:
            return
        time.sleep(0.2)
    raise RuntimeError("camera did not answer on 127.0.0.1:3956")


def _start(cmd: list[str]) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_camera()
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def aravis_receiver(label: str, duration: float, rate: float, features: str = "") -> Figure:
    """Run arv-camera-test-0.8 against the camera on 127.0.0.1 and parse its report."""
    cmd = ["arv-camera-test-0.8", "-n", "127.0.0.1", "-w", str(WIDTH), "-h", str(HEIGHT)]
    cmd += ["-i", str(PACKET_SIZE), "-f", f"{rate:g}", "-e", str(EXPOSURE_US)]
    cmd.append(f"--duration={duration:.0f}")
    if features:
        cmd.append(f"--features={features}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    rates = [
        (float(a), float(b)) for a, b in re.findall(r"([\d.]+) frames/s -\s+([\d.]+) MiB/s", out)
    ]
    steady = rates[1:] or rates  # the first second includes start-up
    counters = dict(re.findall(r"^(n_\w+)\s*=\s*(\d+)", out, re.M))
    return Figure(
        f"{label} @{rate:g}",
        statistics.fmean(r[0] for r in steady) if steady else 0.0,
        statistics.fmean(r[1] for r in steady) if steady else 0.0,
        int(counters.get("n_completed_buffers", 0)),
        int(counters.get("n_failures", 0)),
    )


def camera_settings(names: tuple[str, ...]) -> str:
    """The acquisition settings the camera on 127.0.0.1 holds now, as `arv-tool` reports them."""
    cmd = ["arv-tool-0.8", "-a", "127.0.0.1", "control", *names]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    values = re.findall(r"^(\w+) = (\S+)", out, re.M)
    return " ".join(f"{name}={value}" for name, value in values)


def our_receiver(label: str, duration: float, setup: dict[str, str]) -> Figure:
    """Acquire with our GVCP client + GVSP receiver for `duration` seconds."""
    from openpss.protocols.gige_vision.camera import GigECamera

    with GigECamera("127.0.0.1") as cam:
        for name, value in setup.items():
            try:
                cam.set(name, value)
            except Exception as exc:
                print(f"  ({label}: {name}={value} not applied: {exc})")
        receiver = cam.start_stream(packet_size=PACKET_SIZE, n_buffers=16)
        cam.execute("AcquisitionStart")
        warmup_end = time.monotonic() + 1.0
        while time.monotonic() < warmup_end:
            _drain(receiver, warmup_end)
        before = (receiver.stats.frames_completed, receiver.stats.frames_failed)
        bytes_before = receiver.stats.bytes_received
        start = time.monotonic()
        end = start + duration
        while time.monotonic() < end:
            _drain(receiver, end)
        elapsed = time.monotonic() - start
        cam.execute("AcquisitionStop")
        completed = receiver.stats.frames_completed - before[0]
        failed = receiver.stats.frames_failed - before[1]
        mib = (receiver.stats.bytes_received - bytes_before) / 2**20
        print(f"  ({label}: {receiver.stats.as_dict()})")
    rate = setup.get("AcquisitionFrameRate", "")
    return Figure(f"{label} @{rate}", completed / elapsed, mib / elapsed, completed, failed)


def _drain(receiver: object, end: float) -> None:
    try:
        frame = receiver.get(timeout=max(0.001, end - time.monotonic()))  # type: ignore[attr-defined]
    except queue.Empty:
        return
    receiver.release(frame)  # type: ignore[attr-defined]


def run(duration: float, rates: list[float]) -> None:
    """All measurements (inside the namespace); each `rates` entry is an AcquisitionFrameRate."""
    # Our camera models a sensor row time (2048 rows: ~64 frames/s) and a 1 Gbit/s link; both are
    # lifted so that the software, not the modelled hardware, is what is measured.
    ours = [sys.executable, "-m", "openpss.cli", "device", "camera", "--mono"]
    ours += ["--width", str(WIDTH), "--height", str(HEIGHT), "--line-time-ns", "500"]
    fake = ["arv-fake-gv-camera-0.8", "-i", "127.0.0.1"]
    unlimited = "PixelFormat=Mono8 DeviceLinkThroughputLimit=10000000000"
    figures: dict[tuple[str, float], Figure] = {}
    settings: list[str] = []
    for name, cmd in (("openpss camera", ours), ("arv-fake-gv-camera", fake)):
        camera = _start(cmd)
        try:
            for rate in rates:
                features = unlimited if cmd is ours else ""
                label = f"arv-camera-test <- {name}"
                figures[(label, rate)] = aravis_receiver(label, duration, rate, features)
                names = OUR_SETTINGS if cmd is ours else FAKE_SETTINGS
                settings.append(f"{name} @{rate:g}: {camera_settings(names)}")
                label = f"openpss receiver <- {name}"
                setup = _receiver_setup(rate, unlimited if cmd is ours else "")
                figures[(label, rate)] = our_receiver(label, duration, setup)
        finally:
            _stop(camera)
    print(f"GigE Vision {WIDTH}x{HEIGHT} Mono8, {PACKET_SIZE}-byte packets, {duration:.0f} s each")
    print("camera settings after each arv-camera-test run:")
    for line in settings:
        print(f"  {line}")
    for rate in rates:
        print(f"AcquisitionFrameRate = {rate:g} on both cameras:")
        for (_, figure_rate), figure in figures.items():
            if figure_rate == rate:
                print("  " + figure.line())
    _pipeline_figure()


def _receiver_setup(rate: float, features: str) -> dict[str, str]:
    """Feature values our receiver sets: the same acquisition settings arv-camera-test uses."""
    setup = dict(item.split("=") for item in features.split())
    setup |= {"Width": str(WIDTH), "Height": str(HEIGHT)}
    if features:  # our camera
        setup |= {"AcquisitionFrameRateEnable": "1", "ExposureTime": str(EXPOSURE_US)}
    else:
        setup |= {"ExposureTimeAbs": str(EXPOSURE_US)}
    return setup | {"AcquisitionFrameRate": f"{rate:g}"}


def _pipeline_figure() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from imaging import pipeline_fps

        print(pipeline_fps(30).line())
    except ImportError as exc:
        print(f"imaging pipeline: not measured ({exc})")


def main() -> None:
    """Parse options; re-run inside a private network namespace unless already there."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument(
        "--rates",
        default="1000,100,25",
        help="AcquisitionFrameRate values set on both cameras, comma-separated (1000: as fast"
        " as each goes; 25: arv-fake-gv-camera's default)",
    )
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    if os.environ.get(NETNS_FLAG) == "1":
        run(args.duration, rates)
        return
    for program in ("unshare", "arv-camera-test-0.8", "arv-fake-gv-camera-0.8", "arv-tool-0.8"):
        if shutil.which(program) is None:
            sys.exit(
                f"{program} is missing: apt-get install aravis-tools aravis-tools-cli util-linux"
            )
    script = 'ip link set lo up && exec "$0" "$@"'
    env = dict(os.environ, **{NETNS_FLAG: "1"})
    cmd = ["unshare", NETNS_OPTION, "sh", "-c", script, sys.executable, __file__]
    options = ["--duration", str(args.duration), "--rates", args.rates]
    sys.exit(subprocess.run([*cmd, *options], env=env).returncode)


if __name__ == "__main__":
    main()
