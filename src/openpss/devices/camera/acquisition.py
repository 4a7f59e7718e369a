"""Acquisition state machine, triggers, input lines (debouncer), frequency converter, outputs.

Everything happens on a timeline of nanosecond timestamps supplied by the caller (the front-end's
monotonic clock, or a test's pulse train), so timing behaviour is exact and unit-testable.
"""

from __future__ import annotations

import enum
import heapq
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from openpss.imaging.settings import ImageSettings

logger = logging.getLogger(__name__)

INPUT_LINES = ("Line1", "Line2")
OUTPUT_CAPABLE = ("Line0", "Line2")
TRIGGERS = ("FrameStart", "AcquisitionStart")
LINE_TIME_NS = 7_500  # sensor row readout time: 2048 rows in 15.4 ms (about 60 frames/s)
FRAME_OVERHEAD_NS = 100_000  # per-frame sensor overhead
GVSP_OVERHEAD = 1.03  # packet headers (IP/UDP/GVSP) on top of the image bytes
MAX_BACKLOG = 3  # free-running frames the poller may fall behind before frames are skipped


class AcquisitionState(enum.StrEnum):
    """Where the acquisition is (GenICam SFNC acquisition control)."""

    idle = "idle"
    armed = "armed"  # waits for the AcquisitionStart trigger
    active = "active"


class Host(Protocol):
    """What the acquisition engine needs from the camera model (implemented by CameraModel)."""

    def get(self, name: str, **selectors: Any) -> Any:
        """The value of a feature, optionally for given selector values."""

    def image_settings(self) -> ImageSettings:
        """The image settings in force now."""

    def deliver(self, start_ns: int, end_ns: int, settings: ImageSettings, frame_id: int) -> None:
        """Render and queue the frame whose exposure ran from start_ns to end_ns."""

    def emit(self, event: str, timestamp_ns: int, frame_id: int) -> None:
        """Record a device event (ExposureEnd, FrameTrigger...)."""


class Timeline:
    """Actions ordered by time; `run_until` executes those due, in order."""

    def __init__(self) -> None:
        self.now = 0
        self.target = 0
        self._heap: list[tuple[int, int, Callable[[int], None]]] = []
        self._seq = 0

    def at(self, time_ns: int, action: Callable[[int], None]) -> None:
        """Run action(time_ns) once the timeline reaches time_ns."""
        self._seq += 1
        heapq.heappush(self._heap, (max(time_ns, self.now), self._seq, action))

    def run_until(self, time_ns: int) -> None:
        """Execute every action due at or before time_ns (actions may schedule more)."""
        self.target = max(self.target, time_ns)
        while self._heap and self._heap[0][0] <= time_ns:
            when, _, action = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            action(when)
        self.now = max(self.now, time_ns)


class Acquisition:
    """The camera's timing: acquisition modes, triggers, exposures, lines and outputs."""

    def __init__(self, host: Host, line_time_ns: int = LINE_TIME_NS) -> None:
        self.host = host
        self.line_time_ns = line_time_ns  # sensor row readout time
        self.timeline = Timeline()
        self.state = AcquisitionState.idle  # changed only by _set_state
        self.generation = 0
        self.frames_left: int | None = None
        self.exposing = 0
        self.busy_until = -1
        self.frame_counter = 0
        self.free_run_scheduled = False
        self.raw_levels = dict.fromkeys(INPUT_LINES, False)
        self.levels = dict.fromkeys(INPUT_LINES, False)  # debounced, before LineInverter
        self._tokens = dict.fromkeys(INPUT_LINES, 0)
        self.converter_last: int | None = None
        self.converter_count = 0
        self.outputs: dict[str, bool] = {}
        self.output_changes: deque[tuple[int, str, bool]] = deque(maxlen=10_000)
        self.trigger_overruns = 0
        self.skipped_frames = 0
        self.failed_frames = 0

    @property
    def now(self) -> int:
        """The latest time the engine has reached (ns)."""
        return self.timeline.now

    def advance(self, time_ns: int) -> None:
        """Run everything due up to time_ns."""
        self.timeline.run_until(time_ns)

    # -- settings ---------------------------------------------------------------------------
    def trigger_on(self, selector: str) -> bool:
        """Whether TriggerMode is On for this TriggerSelector."""
        return bool(self.host.get("TriggerMode", TriggerSelector=selector) == "On")

    def resulting_frame_rate(self) -> float:
        """Largest frame rate for the exposure, ROI rows, payload and link throughput."""
        get = self.host.get
        exposure_ns = get("ExposureTime") * 1000.0
        readout_ns = get("Height") * get("BinningVertical") * self.line_time_ns
        sensor_ns = max(exposure_ns, readout_ns) + FRAME_OVERHEAD_NS
        link_ns = get("PayloadSize") * 8 * GVSP_OVERHEAD / get("DeviceLinkThroughputLimit") * 1e9
        return 1e9 / max(sensor_ns, link_ns)

    def frame_period_ns(self) -> int:
        """Time between free-running frames (AcquisitionFrameRate if enabled and reachable)."""
        rate = self.resulting_frame_rate()
        if self.host.get("AcquisitionFrameRateEnable"):
            rate = min(rate, self.host.get("AcquisitionFrameRate"))
        return max(1, round(1e9 / rate))

    # -- acquisition control ----------------------------------------------------------------
    def start(self) -> None:
        """AcquisitionStart: arm or begin according to the mode and the triggers."""
        if self.state is not AcquisitionState.idle:
            return
        self.generation += 1
        mode = self.host.get("AcquisitionMode")
        counts = {"Continuous": None, "SingleFrame": 1}
        self.frames_left = counts.get(mode, self.host.get("AcquisitionFrameCount"))
        self.exposing = 0
        if self.trigger_on("AcquisitionStart"):
            self._set_state(AcquisitionState.armed, "AcquisitionStart trigger awaited")
            self.update_outputs(self.now)
            return
        self._activate(self.now)

    def stop(self) -> None:
        """AcquisitionStop: end the acquisition; frames still exposing are dropped."""
        self._set_state(AcquisitionState.idle, "AcquisitionStop")
        self.generation += 1
        self.exposing = 0
        self.free_run_scheduled = False
        self.update_outputs(self.now)

    def _set_state(self, state: AcquisitionState, reason: str) -> None:
        """The one place the acquisition state changes; every transition is logged."""
        if state is not self.state:
            logger.debug("acquisition %s -> %s (%s)", self.state.value, state.value, reason)
            self.state = state

    def _activate(self, time_ns: int) -> None:
        self._set_state(AcquisitionState.active, "started")
        self.reconfigure(time_ns)
        self.update_outputs(time_ns)

    def reconfigure(self, time_ns: int | None = None) -> None:
        """Start free-running if the acquisition is active and FrameStart is not triggered."""
        if self.state is AcquisitionState.active and not self.trigger_on("FrameStart"):
            self._schedule_free_run(self.now if time_ns is None else time_ns)
        self.update_outputs(self.now)

    def _schedule_free_run(self, time_ns: int) -> None:
        if self.free_run_scheduled:
            return
        self.free_run_scheduled = True
        generation = self.generation
        self.timeline.at(time_ns, lambda t: self._free_run(t, generation))

    def _free_run(self, time_ns: int, generation: int) -> None:
        if generation != self.generation:
            return
        self.free_run_scheduled = False
        if self.state is not AcquisitionState.active or self.trigger_on("FrameStart"):
            return
        period = self.frame_period_ns()
        behind = (self.timeline.target - time_ns) // period
        if behind > MAX_BACKLOG:
            # The poller fell behind: skip frames as a camera does when its buffer is full.
            self.skipped_frames += behind - 1
            time_ns += (behind - 1) * period
        self._start_exposure(time_ns, generation)
        if self.frames_left != 0:
            self._schedule_free_run(max(time_ns + period, self.busy_until))

    def _start_exposure(self, time_ns: int, generation: int) -> None:
        if self.frames_left == 0:
            return
        if time_ns < self.busy_until:
            self.trigger_overruns += 1
            logger.debug("trigger at %d ns ignored: previous frame still busy", time_ns)
            return
        try:
            settings = self.host.image_settings()
        except ValueError as exc:  # ImagingError: settings the pipeline cannot render
            self.failed_frames += 1
            logger.error("frame not captured: %s", exc)
            return
        if self.frames_left is not None:
            self.frames_left -= 1
        self.busy_until = time_ns + round(1e9 / self.resulting_frame_rate())
        self.exposing += 1
        self.update_outputs(time_ns)
        end = time_ns + round(settings.exposure_time_us * 1000)
        self.timeline.at(end, lambda t: self._end_exposure(t, generation, time_ns, settings))

    def _end_exposure(
        self, time_ns: int, generation: int, start_ns: int, settings: ImageSettings
    ) -> None:
        if generation != self.generation:
            return
        self.exposing -= 1
        self.frame_counter += 1
        self.host.deliver(start_ns, time_ns, settings, self.frame_counter)
        if self.frames_left == 0 and self.exposing == 0:
            self._set_state(AcquisitionState.idle, "SingleFrame / MultiFrame complete")
        self.update_outputs(time_ns)

    # -- triggers ---------------------------------------------------------------------------
    def trigger(self, selector: str, time_ns: int) -> None:
        """A trigger signal for TriggerSelector `selector` arrived at time_ns."""
        if self.state is AcquisitionState.idle:
            logger.debug("%s trigger ignored: acquisition not started", selector)
            return
        if selector == "FrameStart" and self.state is AcquisitionState.active:
            self.host.emit("FrameTrigger", time_ns, self.frame_counter + 1)
        delay_ns = round(self.host.get("TriggerDelay", TriggerSelector=selector) * 1000)
        generation = self.generation
        self.timeline.at(time_ns + delay_ns, lambda t: self._triggered(selector, t, generation))

    def _triggered(self, selector: str, time_ns: int, generation: int) -> None:
        if generation != self.generation:
            return
        if selector == "AcquisitionStart":
            if self.state is AcquisitionState.armed:
                self._activate(time_ns)
        elif self.state is AcquisitionState.active and self.trigger_on("FrameStart"):
            self._start_exposure(time_ns, generation)

    def _fire_source(self, source: str, rising: bool | None, time_ns: int) -> None:
        for selector in TRIGGERS:
            if not self.trigger_on(selector):
                continue
            if self.host.get("TriggerSource", TriggerSelector=selector) != source:
                continue
            activation = self.host.get("TriggerActivation", TriggerSelector=selector)
            if rising is None or (activation == "RisingEdge") == rising:
                self.trigger(selector, time_ns)

    # -- input lines ------------------------------------------------------------------------
    def set_input(self, line: str, level: bool, time_ns: int) -> None:
        """The electrical level of an input line changed at time_ns."""
        self.advance(time_ns)
        time_ns = max(time_ns, self.now)
        if self.raw_levels[line] == level:
            return
        self.raw_levels[line] = level
        self._tokens[line] += 1
        token = self._tokens[line]
        debounce_ns = round(self.host.get("LineDebouncerTimeAbs", LineSelector=line) * 1000)
        self.timeline.at(time_ns + debounce_ns, lambda t: self._confirm(line, level, token, t))
        self.advance(time_ns)

    def _confirm(self, line: str, level: bool, token: int, time_ns: int) -> None:
        if token != self._tokens[line] or self.levels[line] == level:
            return  # a shorter pulse than LineDebouncerTimeAbs: filtered
        self.levels[line] = level
        inverted = bool(self.host.get("LineInverter", LineSelector=line))
        rising = level != inverted
        self._fire_source(line, rising, time_ns)
        converter = self.host.get(
            "FrequencyConverterInputSource", FrequencyConverterSelector="FrequencyConverter0"
        )
        if converter == line and rising:
            self._converter_input(time_ns)

    def input_level(self, line: str) -> bool:
        """Debounced level of an input line after LineInverter."""
        inverted = bool(self.host.get("LineInverter", LineSelector=line))
        return self.levels[line] != inverted

    # -- frequency converter ----------------------------------------------------------------
    def _converter_input(self, time_ns: int) -> None:
        selector = {"FrequencyConverterSelector": "FrequencyConverter0"}
        multiplier = int(self.host.get("FrequencyConverterMultiplier", **selector))
        if self.converter_last is not None and multiplier > 1:
            period = time_ns - self.converter_last
            for k in range(1, multiplier):
                self.timeline.at(time_ns + period * k // multiplier, self._converter_output)
        self.converter_last = time_ns
        self._converter_output(time_ns)

    def _converter_output(self, time_ns: int) -> None:
        selector = {"FrequencyConverterSelector": "FrequencyConverter0"}
        divider = int(self.host.get("FrequencyConverterDivider", **selector))
        self.converter_count += 1
        if self.converter_count >= divider:
            self.converter_count = 0
            self._fire_source("FrequencyConverter", None, time_ns)

    # -- output lines -----------------------------------------------------------------------
    def output_levels(self) -> dict[str, bool]:
        """Levels of the lines in Output mode, after LineSource and LineInverter."""
        levels = {}
        for line in OUTPUT_CAPABLE:
            if self.host.get("LineMode", LineSelector=line) != "Output":
                continue
            source = self.host.get("LineSource", LineSelector=line)
            level = self._source_level(source)
            levels[line] = level != bool(self.host.get("LineInverter", LineSelector=line))
        return levels

    def _source_level(self, source: str) -> bool:
        if source == "ExposureActive":
            return self.exposing > 0
        if source == "FrameTriggerWait":
            return (
                self.state is AcquisitionState.active
                and self.trigger_on("FrameStart")
                and not self.exposing
            )
        if source.startswith("UserOutput"):
            return bool(self.host.get("UserOutputValue", UserOutputSelector=source))
        return False

    def update_outputs(self, time_ns: int) -> None:
        """Record output level changes at time_ns (kept in output_changes)."""
        levels = self.output_levels()
        for line, level in levels.items():
            if self.outputs.get(line, False) != level:
                self.output_changes.append((time_ns, line, level))
        self.outputs = levels
