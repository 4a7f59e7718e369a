"""GigE Vision throughput at 2048x2048 Mono8 with 8192-byte packets, against Aravis as the judge.

Prints, in one run:
  1. at each fixed AcquisitionFrameRate (`--rates`, default 1000: as fast as each camera goes),
     what `arv-camera-test-0.8` and our GVSP receiver get from our camera and from Aravis's
     `arv-fake-gv-camera-0.8` (frames/s, MiB/s, failed frames);
  2. for each of these four pairs, the highest frame rate that ran a whole measuring period with
     ZERO failed frames: a short ascending search over `--search-rates` (`--step` s each). A rate
     that fails is tried once more with our camera paced by GevSCPD (packet delay spreading a
     frame over 60% of its period, as real GigE setups do; `--pacing`); the search stops at the
     first rate that still fails. A rate the pair falls short of (below 90%) skips to the last,
     "as fast as it goes" rate. The table gives the best clean step: measured frames/s, MiB/s,
     failed frames, the rate asked and the GevSCPD used;
  3. the image pipeline figure from benchmarks/imaging.py.
Failed frames count over the whole acquisition (start-up included) for both receivers; frames/s
and MiB/s leave the first second out. Aravis discovers by broadcast, so the script re-runs itself
inside a private network namespace (`unshare -n`, loopback only); everything talks to 127.0.0.1.
Run: /work/venv/bin/python benchmarks/camera.py [--duration S] [--rates ...] [--search-rates ...]
"""

from __future__ import annotations

import argparse
import math
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
# Lifts our camera's modelled 1 Gbit/s link so that the software, not the model, is measured.
UNLIMITED = "PixelFormat=Mono8 DeviceLinkThroughputLimit=10000000000"
# GVSP payload bytes per 8192-byte packet: minus IPv4 (20), UDP (8) and GVSP (8) headers.
PACKETS_PER_FRAME = math.ceil(WIDTH * HEIGHT / (PACKET_SIZE - 36)) + 2  # + leader, trailer
PACED_SHARE = 0.6  # a paced frame's packets are spread over this share of the frame period
DELIVERED = 0.9  # a rate counts only when the pair delivers at least this share of it


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


@dataclass
class Step:
    """One measured rate of a search: the requested rate, the packet delay and the figure."""

    rate: float
    delay_ns: int
    figure: Figure

    def clean(self) -> bool:
        """Zero failed frames and at least one frame received."""
        return self.figure.failed == 0 and self.figure.completed > 0

    def delivered(self) -> bool:
        """The pair reached (nearly) the requested rate."""
        return self.figure.fps >= DELIVERED * self.rate


@dataclass
class Search:
    """The rate search of one pair: every step, the best clean one and why it stopped."""

    pair: str
    steps: list[Step] = field(default_factory=list)
    stopped: str = "clean at every rate"

    def best(self) -> Step | None:
        """The clean step with the highest measured frame rate."""
        clean = [step for step in self.steps if step.clean()]
        return max(clean, key=lambda step: step.figure.fps, default=None)

    def row(self) -> str:
        """One line of the result table."""
        best = self.best()
        if best is None:
            return f"{self.pair:44} {'none':>8} {'-':>8} {'-':>6} {'-':>8} {'-':>8}  {self.stopped}"
        fig = best.figure
        delay = f"{best.delay_ns} ns" if best.delay_ns else "0"
        return (
            f"{self.pair:44} {fig.fps:8.1f} {fig.mib_s:8.1f} {fig.failed:6d} {best.rate:8g} "
            f"{delay:>8}  {self.stopped}"
        )


# A measurement: (requested rate, GevSCPD in ns or 0) -> figure.
Measure = Callable[[float, int], Figure]

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
    cmd.append(f"--duration={max(1, round(duration))}")
    if features:
        cmd.append(f"--features={features}")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60).stdout
    # One line a second such as " 233 frames/s -     977 MiB/s"; that MiB/s counts 10^6 bytes
    # with 3 significant digits (1.01e+03 above 999), so ours is frames/s x the 2^20-byte payload.
    rates = [float(fps) for fps in re.findall(r"^\s*(\d+) frames/s - ", out, re.M)]
    steady = rates[1:] or rates  # the first second includes start-up
    counters = dict(re.findall(r"^(n_\w+)\s*=\s*(\d+)", out, re.M))
    fps = statistics.fmean(steady) if steady else 0.0
    return Figure(
        f"{label} @{rate:g}",
        fps,
        fps * WIDTH * HEIGHT / 2**20,  # Mono8: one byte a pixel
        int(counters.get("n_completed_buffers", 0)),
        int(counters.get("n_failures", 0)),
    )


def camera_settings(names: tuple[str, ...]) -> str:
    """The acquisition settings the camera on 127.0.0.1 holds now, as `arv-tool` reports them."""
    cmd = ["arv-tool-0.8", "-a", "127.0.0.1", "control", *names]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout
    values = re.findall(r"^(\w+) = (\S+)", out, re.M)
    return " ".join(f"{name}={value}" for name, value in values)


def our_receiver(
    label: str, duration: float, setup: dict[str, str], verbose: bool = True
) -> Figure:
    """Acquire with our GVCP client + GVSP receiver for 1 s of start-up plus `duration` seconds.

    Frames/s and MiB/s cover the `duration` window; failed frames cover the whole acquisition
    (as `arv-camera-test`'s n_failures does).
    """
    from openpss.protocols.gige_vision.camera import GigECamera

    with GigECamera("127.0.0.1") as cam:
        for name, value in setup.items():
            try:
                cam.set(name, value)
            except Exception as exc:
                print(f"  ({label}: {name}={value} not applied: {exc})")
        receiver = cam.start_stream(packet_size=PACKET_SIZE, n_buffers=16)
        cam.execute("AcquisitionStart")
        _drain_until(receiver, time.monotonic() + 1.0)
        completed_before = receiver.stats.frames_completed
        bytes_before = receiver.stats.bytes_received
        start = time.monotonic()
        _drain_until(receiver, start + duration)
        elapsed = time.monotonic() - start
        completed = receiver.stats.frames_completed - completed_before
        mib = (receiver.stats.bytes_received - bytes_before) / 2**20
        failed = receiver.stats.frames_failed  # read before the stop can cut a frame short
        cam.execute("AcquisitionStop")
        if verbose:
            print(f"  ({label}: {receiver.stats.as_dict()})")
    rate = setup.get("AcquisitionFrameRate", "")
    return Figure(f"{label} @{rate}", completed / elapsed, mib / elapsed, completed, failed)


def _drain_until(receiver: object, end: float) -> None:
    while time.monotonic() < end:
        _drain(receiver, end)


def _drain(receiver: object, end: float) -> None:
    try:
        frame = receiver.get(timeout=max(0.001, end - time.monotonic()))  # type: ignore[attr-defined]
    except queue.Empty:
        return
    receiver.release(frame)  # type: ignore[attr-defined]


def paced_delay_ns(rate: float) -> int:
    """GevSCPD (ns) that spreads one frame's packets over PACED_SHARE of the frame period."""
    return int(PACED_SHARE * 1e9 / (rate * PACKETS_PER_FRAME))


def search(pair: str, measure: Measure, rates: list[float], pacing: str) -> Search:
    """Ascend `rates` while every frame arrives; see the module docstring for the rules."""
    result, index = Search(pair), 0
    while index < len(rates):
        rate = rates[index]
        step = _search_step(measure, rate, pacing)
        result.steps.extend(step)
        for tried in step:
            print(f"  search {pair} @{rate:g}: {_step_note(tried)}", flush=True)
        if not step[-1].clean():
            paced = " even paced" if step[-1].delay_ns else ""
            result.stopped = f"{step[-1].figure.failed} failed at {rate:g}{paced}"
            break
        if not step[-1].delivered() and index < len(rates) - 1:
            # The pair tops out here (Aravis's camera is seen to give ~50 frames/s when asked for
            # 100), so only the top rate, "as fast as it goes", is left to try.
            result.stopped = f"short of {rate:g}; then tried {rates[-1]:g} only"
            index = len(rates) - 1
            continue
        index += 1
    return result


def _search_step(measure: Measure, rate: float, pacing: str) -> list[Step]:
    """One rate: unpaced, then paced if it failed (`on-failure`), or only paced (`always`)."""
    if pacing == "always":
        return [Step(rate, paced_delay_ns(rate), measure(rate, paced_delay_ns(rate)))]
    first = Step(rate, 0, measure(rate, 0))
    if first.clean() or pacing == "never":
        return [first]
    # Spread over the period the pair really ran at (below `rate` when asked "as fast as it goes").
    delay_ns = paced_delay_ns(min(rate, first.figure.fps or rate))
    return [first, Step(rate, delay_ns, measure(rate, delay_ns))]


def _step_note(step: Step) -> str:
    fig = step.figure
    paced = f", GevSCPD={step.delay_ns} ns" if step.delay_ns else ""
    return f"{fig.fps:.1f} frames/s {fig.mib_s:.1f} MiB/s failed={fig.failed}{paced}"


def _measures(ours: bool, duration: float) -> dict[str, Measure]:
    """The two receivers against the camera running now, as rate-search measurements."""
    name = "openpss camera" if ours else "arv-fake-gv-camera"
    aravis, mine = f"arv-camera-test <- {name}", f"openpss receiver <- {name}"

    def with_aravis(rate: float, delay_ns: int) -> Figure:
        features = f"{UNLIMITED} GevSCPD={delay_ns}" if ours else ""
        return aravis_receiver(aravis, duration, rate, features)

    def with_ours(rate: float, delay_ns: int) -> Figure:
        setup = _receiver_setup(rate, UNLIMITED if ours else "")
        if ours:
            setup["GevSCPD"] = str(delay_ns)  # our tick is 1 ns
        return our_receiver(mine, duration, setup, verbose=False)

    return {aravis: with_aravis, mine: with_ours}


def run(
    duration: float, rates: list[float], search_rates: list[float], step: float, pacing: str
) -> None:
    """All measurements (inside the namespace); each rate is an AcquisitionFrameRate."""
    # Our camera models a sensor row time (2048 rows: ~64 frames/s) and a 1 Gbit/s link; both are
    # lifted so that the software, not the modelled hardware, is what is measured.
    ours = [sys.executable, "-m", "openpss.cli", "device", "camera", "--mono"]
    ours += ["--width", str(WIDTH), "--height", str(HEIGHT), "--line-time-ns", "500"]
    fake = ["arv-fake-gv-camera-0.8", "-i", "127.0.0.1"]
    figures: dict[tuple[str, float], Figure] = {}
    settings: list[str] = []
    searches: list[Search] = []
    for name, cmd in (("openpss camera", ours), ("arv-fake-gv-camera", fake)):
        camera = _start(cmd)
        try:
            features = UNLIMITED if cmd is ours else ""
            # Discarded: the camera's one-time start-up costs (first renders, page faults).
            aravis_receiver("warm-up", 2, 1000, features)
            for rate in rates:
                label = f"arv-camera-test <- {name}"
                figures[(label, rate)] = aravis_receiver(label, duration, rate, features)
                names = OUR_SETTINGS if cmd is ours else FAKE_SETTINGS
                settings.append(f"{name} @{rate:g}: {camera_settings(names)}")
                label = f"openpss receiver <- {name}"
                setup = _receiver_setup(rate, features)
                figures[(label, rate)] = our_receiver(label, duration, setup)
            for pair, measure in _measures(cmd is ours, step).items():
                # Pacing is tried on our camera only; Aravis's camera stays as Aravis ships it.
                mode = pacing if cmd is ours else "never"
                searches.append(search(pair, measure, search_rates, mode))
        finally:
            _stop(camera)
    if rates:
        _print_fixed(duration, rates, settings, figures)
    if searches:
        _print_searches(step, searches)
    _pipeline_figure()


def _print_fixed(
    duration: float,
    rates: list[float],
    settings: list[str],
    figures: dict[tuple[str, float], Figure],
) -> None:
    print(f"GigE Vision {WIDTH}x{HEIGHT} Mono8, {PACKET_SIZE}-byte packets, {duration:g} s each")
    print("camera settings after each arv-camera-test run:")
    for line in settings:
        print(f"  {line}")
    for rate in rates:
        print(f"AcquisitionFrameRate = {rate:g} on both cameras:")
        for (_, figure_rate), figure in figures.items():
            if figure_rate == rate:
                print("  " + figure.line())


def _print_searches(step: float, searches: list[Search]) -> None:
    print(
        f"Highest rate with ZERO failed frames ({step:g} s per rate, first second included in"
        f" the failures; GevSCPD = packet delay set on the sender, 0 = unpaced):"
    )
    head = f"{'pair':44} {'fps':>8} {'MiB/s':>8} {'failed':>6} {'asked':>8} {'GevSCPD':>8}"
    print(f"  {head}  search stopped by")
    for result in searches:
        print("  " + result.row())


def _receiver_setup(rate: float, features: str) -> dict[str, str]:
    """Feature values our receiver sets: the same acquisition settings arv-camera-test uses."""
    setup = dict(item.split("=") for item in features.split())
    setup |= {"Width": str(WIDTH), "Height": str(HEIGHT)}
    if features:  # our camera
        setup |= {"AcquisitionFrameRateEnable": "1", "ExposureTime": str(EXPOSURE_US)}
        setup |= {"GevSCPD": "0"}
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


def _rate_list(parser: argparse.ArgumentParser, option: str, text: str) -> list[float]:
    """Comma-separated positive frame rates, or a usage error naming the option."""
    try:
        rates = [float(rate) for rate in text.split(",") if rate.strip()]
    except ValueError:
        parser.error(f"{option} takes comma-separated frames/s such as 25,50,100; got {text!r}")
    if any(not 0 < rate <= 10_000 for rate in rates):
        parser.error(f"{option}: every rate must be in (0, 10000] frames/s; got {text!r}")
    return rates


def main() -> None:
    """Parse options; re-run inside a private network namespace unless already there."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per fixed-rate run")
    parser.add_argument(
        "--rates",
        default="1000",
        help="fixed AcquisitionFrameRate values set on both cameras, comma-separated (1000: as"
        " fast as each goes; 25: arv-fake-gv-camera's default); empty: none",
    )
    parser.add_argument(
        "--search-rates",
        default="25,50,75,100,150,200,250,1000",
        help="ascending rates tried by the zero-failed-frames search (the last one, 1000: as fast"
        " as the pair goes); empty: no search",
    )
    parser.add_argument(
        "--pacing",
        choices=("on-failure", "always", "never"),
        default="on-failure",
        help="GevSCPD packet delay on our camera during the search: retry a failed rate paced"
        " (default), pace every rate, or never",
    )
    parser.add_argument("--step", type=float, default=3.0, help="seconds per search rate")
    args = parser.parse_args()
    rates = _rate_list(parser, "--rates", args.rates)
    search_rates = sorted(_rate_list(parser, "--search-rates", args.search_rates))
    if not 0 < args.duration <= 60 or not 0 < args.step <= 60:
        parser.error("--duration and --step are seconds in (0, 60]")
    if os.environ.get(NETNS_FLAG) == "1":
        run(args.duration, rates, search_rates, args.step, args.pacing)
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
    options += ["--search-rates", args.search_rates, "--step", str(args.step)]
    options += ["--pacing", args.pacing]
    sys.exit(subprocess.run([*cmd, *options], env=env).returncode)


if __name__ == "__main__":
    main()
