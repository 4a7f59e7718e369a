"""Acquisition modes, frame rate, triggers, debouncer, frequency converter, outputs and events."""

from __future__ import annotations

import itertools
import struct

import pytest

from openpss.devices.camera.errors import AccessDenied, InvalidParameter
from openpss.devices.camera.features import EVENT_IDS
from openpss.devices.camera.model import CameraModel
from openpss.imaging.errors import ImagingError

MS = 1_000_000
US = 1_000


@pytest.fixture
def camera() -> CameraModel:
    model = CameraModel(data_dir=None, width=64, height=32)
    model.set("ExposureTime", 1000.0)  # 1 ms
    return model


def run(camera: CameraModel, until_ns: int, step_ns: int = MS) -> list[int]:
    """Poll every step until until_ns; the timestamps of the frames received."""
    stamps: list[int] = []
    t = camera.engine.now
    while t < until_ns:
        t = min(t + step_ns, until_ns)
        stamps += [frame.timestamp_ns for frame in camera.poll(t)]
    return stamps


def pulse(camera: CameraModel, line: str, start_ns: int, width_ns: int) -> None:
    camera.set_line_input(line, True, start_ns)
    camera.set_line_input(line, False, start_ns + width_ns)


def hardware_trigger(camera: CameraModel, line: str = "Line1", edge: str = "RisingEdge") -> None:
    camera.set("TriggerMode", "On")
    camera.set("TriggerSource", line)
    camera.set("TriggerActivation", edge)


def test_continuous_runs_at_acquisition_frame_rate_until_stopped(camera: CameraModel) -> None:
    camera.set("AcquisitionFrameRateEnable", True)
    camera.set("AcquisitionFrameRate", 100.0)
    camera.set("AcquisitionStart", None)
    stamps = run(camera, 100 * MS)
    assert len(stamps) == 10
    assert {b - a for a, b in itertools.pairwise(stamps)} == {10 * MS}
    camera.set("AcquisitionStop", None)
    assert run(camera, 200 * MS) == [] and not camera.acquiring


def test_frame_rate_above_resulting_frame_rate_runs_at_resulting(camera: CameraModel) -> None:
    resulting = camera.get("ResultingFrameRateAbs")
    camera.set("AcquisitionFrameRateEnable", True)
    camera.set("AcquisitionFrameRate", 1000.0)
    assert resulting < 1000.0
    camera.set("AcquisitionStart", None)
    stamps = run(camera, 200 * MS)
    period = round(1e9 / resulting)
    assert stamps[1] - stamps[0] == period


def test_resulting_frame_rate_depends_on_exposure_roi_format_and_link() -> None:
    camera = CameraModel(data_dir=None, width=2448, height=2048)
    full = camera.get("ResultingFrameRateAbs")
    assert 20 < full < 30  # 5 MB frames over 1 Gbit/s
    camera.set("PixelFormat", "BayerRG12")
    assert camera.get("ResultingFrameRateAbs") == pytest.approx(full / 2, rel=0.01)
    camera.set("PixelFormat", "BayerRG8")
    camera.set("Height", 512)
    assert camera.get("ResultingFrameRateAbs") > 2 * full
    camera.set("ExposureTime", 100_000.0)
    assert camera.get("ResultingFrameRateAbs") == pytest.approx(1e9 / (100 * MS + 100 * US))
    camera.set("ExposureTime", 10_000.0)
    camera.set("DeviceLinkThroughputLimit", 10_000_000_000)
    assert camera.get("ResultingFrameRateAbs") > 50


def test_single_frame_stops_after_one(camera: CameraModel) -> None:
    camera.set("AcquisitionMode", "SingleFrame")
    camera.set("AcquisitionStart", None)
    assert camera.acquiring
    assert len(run(camera, 500 * MS)) == 1
    assert not camera.acquiring


def test_multi_frame_takes_acquisition_frame_count(camera: CameraModel) -> None:
    camera.set("AcquisitionMode", "MultiFrame")
    camera.set("AcquisitionFrameCount", 7)
    camera.set("AcquisitionStart", None)
    assert len(run(camera, 1000 * MS)) == 7 and not camera.acquiring


def test_multi_frame_can_be_stopped_before_the_count(camera: CameraModel) -> None:
    camera.set("AcquisitionMode", "MultiFrame")
    camera.set("AcquisitionFrameCount", 255)
    camera.set("AcquisitionStart", None)
    got = len(run(camera, 30 * MS))
    camera.set("AcquisitionStop", None)
    assert 0 < got < 255 and run(camera, 100 * MS) == []


def test_acquisition_frame_count_range(camera: CameraModel) -> None:
    for bad in (0, 256):
        with pytest.raises(InvalidParameter, match="out of range 1-255"):
            camera.set("AcquisitionFrameCount", bad)


def test_software_trigger_gives_one_frame_per_command(camera: CameraModel) -> None:
    camera.set("TriggerMode", "On")
    camera.set("AcquisitionStart", None)
    assert run(camera, 50 * MS) == []
    for _ in range(3):
        camera.set("TriggerSoftware", None)
        run(camera, camera.engine.now + 20 * MS)
    assert camera.engine.frame_counter == 3


def test_trigger_software_is_locked_unless_software_source(camera: CameraModel) -> None:
    with pytest.raises(AccessDenied, match="TriggerMode On and TriggerSource Software"):
        camera.set("TriggerSoftware", None)
    hardware_trigger(camera)
    with pytest.raises(AccessDenied):
        camera.set("TriggerSoftware", None)


def test_rising_edge_trigger_on_line1(camera: CameraModel) -> None:
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    for k in range(5):
        pulse(camera, "Line1", (10 + 20 * k) * MS, 2 * MS)
    stamps = run(camera, 150 * MS)
    assert stamps == [(10 + 20 * k) * MS for k in range(5)]


def test_falling_edge_trigger_fires_at_the_end_of_the_pulse(camera: CameraModel) -> None:
    hardware_trigger(camera, edge="FallingEdge")
    camera.set("AcquisitionStart", None)
    pulse(camera, "Line1", 10 * MS, 3 * MS)
    assert run(camera, 50 * MS) == [13 * MS]


def test_line2_trigger_needs_the_selected_source(camera: CameraModel) -> None:
    hardware_trigger(camera, line="Line2")
    camera.set("AcquisitionStart", None)
    pulse(camera, "Line1", 10 * MS, 2 * MS)
    pulse(camera, "Line2", 30 * MS, 2 * MS)
    assert run(camera, 60 * MS) == [30 * MS]


def test_trigger_delay_postpones_the_exposure(camera: CameraModel) -> None:
    hardware_trigger(camera)
    camera.set("TriggerDelay", 2500.0)
    camera.set("AcquisitionStart", None)
    pulse(camera, "Line1", 10 * MS, 1 * MS)
    assert run(camera, 50 * MS) == [10 * MS + 2500 * US]
    with pytest.raises(InvalidParameter, match="TriggerDelay"):
        camera.set("TriggerDelay", 1_000_001.0)


def test_acquisition_start_trigger_starts_continuous_capture(camera: CameraModel) -> None:
    camera.set("TriggerSelector", "AcquisitionStart")
    hardware_trigger(camera)
    camera.set("AcquisitionFrameRateEnable", True)
    camera.set("AcquisitionFrameRate", 100.0)
    camera.set("AcquisitionStart", None)
    assert run(camera, 40 * MS) == []
    pulse(camera, "Line1", 40 * MS, 1 * MS)
    stamps = run(camera, 100 * MS)
    assert stamps[0] == 40 * MS and len(stamps) == 6


def test_triggers_faster_than_the_camera_are_dropped(camera: CameraModel) -> None:
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    period = round(1e9 / camera.get("ResultingFrameRateAbs"))
    pulse(camera, "Line1", 10 * MS, 100 * US)
    pulse(camera, "Line1", 10 * MS + period // 2, 100 * US)
    assert run(camera, 50 * MS) == [10 * MS]
    assert camera.engine.trigger_overruns == 1


def test_debouncer_filters_pulses_shorter_than_the_value(camera: CameraModel) -> None:
    camera.set("LineSelector", "Line1")
    camera.set("LineDebouncerTimeAbs", 1500.0)
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    pulse(camera, "Line1", 10 * MS, 1000 * US)  # 1 ms < 1.5 ms: filtered
    pulse(camera, "Line1", 30 * MS, 2000 * US)  # passes, 1.5 ms late
    assert run(camera, 60 * MS) == [31_500 * US]


def test_debouncer_above_the_level_time_yields_no_stream(camera: CameraModel) -> None:
    camera.set("LineSelector", "Line1")
    camera.set("LineDebouncerTimeAbs", 6000.0)
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    for k in range(10):  # square wave with 5 ms high and 5 ms low levels
        pulse(camera, "Line1", 10 * k * MS, 5 * MS)
    assert run(camera, 120 * MS) == []


def test_debouncer_is_only_for_input_lines(camera: CameraModel) -> None:
    camera.set("LineSelector", "Line0")
    with pytest.raises(AccessDenied, match="only available in input mode"):
        camera.set("LineDebouncerTimeAbs", 100.0)


def test_line_inverter_swaps_the_edges(camera: CameraModel) -> None:
    camera.set("LineSelector", "Line1")
    camera.set("LineInverter", True)
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    pulse(camera, "Line1", 10 * MS, 4 * MS)  # inverted: the rising edge is at 14 ms
    assert run(camera, 50 * MS) == [14 * MS]
    assert camera.get("LineStatus") is True  # low electrical level, inverted


def test_frequency_converter_multiplies_then_divides(camera: CameraModel) -> None:
    camera.set("TriggerMode", "On")
    camera.set("TriggerSource", "FrequencyConverter")
    camera.set("FrequencyConverterMultiplier", 2)
    camera.set("AcquisitionStart", None)
    for k in range(5):  # 50 Hz in
        pulse(camera, "Line1", (20 * k + 1) * MS, 1 * MS)
    stamps = run(camera, 110 * MS)
    assert stamps == [
        1 * MS,
        21 * MS,
        31 * MS,
        41 * MS,
        51 * MS,
        61 * MS,
        71 * MS,
        81 * MS,
        91 * MS,
    ]
    camera.set("AcquisitionStop", None)
    camera.set("FrequencyConverterMultiplier", 1)
    camera.set("FrequencyConverterDivider", 2)
    camera.set("AcquisitionStart", None)
    start = 200 * MS
    for k in range(6):
        pulse(camera, "Line1", start + 20 * k * MS, 1 * MS)
    assert len(run(camera, start + 150 * MS)) == 3


def test_only_line2_can_change_line_mode(camera: CameraModel) -> None:
    camera.set("LineSelector", "Line1")
    with pytest.raises(AccessDenied, match="only Line2"):
        camera.set("LineMode", "Output")
    camera.set("LineSelector", "Line2")
    camera.set("LineMode", "Output")
    with pytest.raises(ValueError, match="Output mode"):
        camera.set_line_input("Line2", True, 0)
    with pytest.raises(ValueError, match="not an input line"):
        camera.set_line_input("Line0", True, 0)


def test_line0_follows_exposure_active(camera: CameraModel) -> None:
    camera.set("TriggerMode", "On")
    camera.set("AcquisitionStart", None)
    camera.poll(5 * MS)
    assert camera.output_levels() == {"Line0": False}
    camera.set("TriggerSoftware", None)
    assert camera.output_levels() == {"Line0": True}
    run(camera, 20 * MS)
    assert camera.output_levels() == {"Line0": False}
    assert camera.output_changes() == [(5 * MS, "Line0", True), (6 * MS, "Line0", False)]
    assert camera.output_changes(since_ns=6 * MS) == [(6 * MS, "Line0", False)]


def test_user_output_drives_line2_and_the_inverter(camera: CameraModel) -> None:
    camera.set("LineSelector", "Line2")
    camera.set("LineMode", "Output")
    camera.set("LineSource", "UserOutput1")
    assert camera.output_levels()["Line2"] is False
    camera.set("UserOutputSelector", "UserOutput1")
    camera.set("UserOutputValue", True)
    assert camera.output_levels()["Line2"] is True
    camera.set("LineInverter", True)
    assert camera.output_levels()["Line2"] is False
    assert camera.get("LineStatus") is False
    camera.set("LineSelector", "Line1")
    with pytest.raises(AccessDenied, match="output lines"):
        camera.set("LineSource", "UserOutput0")


def test_events_are_sent_only_when_notification_is_on(camera: CameraModel) -> None:
    camera.set("TriggerMode", "On")
    camera.set("EventSelector", "ExposureEnd")
    camera.set("EventNotification", "On")
    camera.set("AcquisitionStart", None)
    camera.poll(1 * MS)
    camera.set("TriggerSoftware", None)
    run(camera, 10 * MS)
    events = camera.drain_events()
    assert [(e.event_id, e.timestamp_ns) for e in events] == [(EVENT_IDS["ExposureEnd"], 2 * MS)]
    assert struct.unpack(">Q", events[0].data) == (1,)
    assert camera.get("EventExposureEndTimestamp") == 2 * MS
    assert camera.get("EventFrameTriggerFrameID") == 1  # recorded, but not sent
    assert camera.drain_events() == []


def test_frame_trigger_and_parameter_change_events(camera: CameraModel) -> None:
    for event in ("FrameTrigger", "ParameterChanged"):
        camera.set("EventSelector", event)
        camera.set("EventNotification", "On")
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    pulse(camera, "Line1", 3 * MS, 1 * MS)
    run(camera, 10 * MS)
    address = camera.table["DigitalShift"].address
    assert address is not None
    camera.write(address, b"\0\0\0\1")
    ids = [e.event_id for e in camera.drain_events()]
    assert ids == [EVENT_IDS["FrameTrigger"], EVENT_IDS["ParameterChanged"]]


def test_frames_carry_roi_format_and_payload(camera: CameraModel) -> None:
    camera.set("Width", 32)
    camera.set("OffsetX", 16)
    camera.set("PixelFormat", "Mono8")
    camera.set("AcquisitionMode", "SingleFrame")
    camera.set("AcquisitionStart", None)
    (frame,) = [f for t in range(1, 20) for f in camera.poll(t * MS)]
    assert (frame.width, frame.height, frame.offset_x, frame.offset_y) == (32, 32, 16, 0)
    assert frame.pixel_format == 0x01080001 and len(frame.payload) == 32 * 32
    assert frame.frame_id == 1


def test_a_late_poll_skips_frames_instead_of_rendering_a_backlog(camera: CameraModel) -> None:
    camera.set("AcquisitionFrameRateEnable", True)
    camera.set("AcquisitionFrameRate", 100.0)
    camera.poll(0)
    camera.set("AcquisitionStart", None)
    frames = camera.poll(1000 * MS)  # one poll a whole second (100 frame periods) late
    assert 1 <= len(frames) <= 4
    assert camera.engine.skipped_frames >= 95
    assert frames[-1].timestamp_ns > 960 * MS
    assert len(run(camera, 1100 * MS)) == 10  # back on schedule


def test_single_frame_with_frame_start_trigger_waits_for_the_trigger(camera: CameraModel) -> None:
    camera.set("AcquisitionMode", "SingleFrame")
    camera.set("TriggerMode", "On")
    camera.set("AcquisitionStart", None)
    assert run(camera, 50 * MS) == [] and camera.acquiring
    camera.set("TriggerSoftware", None)
    assert run(camera, 100 * MS) == [50 * MS]
    assert not camera.acquiring


def test_a_frame_the_pipeline_refuses_is_lost_not_fatal(
    camera: CameraModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(settings: object) -> None:
        raise ImagingError("cannot render")

    monkeypatch.setattr(camera.images, "render", refuse)
    camera.set("AcquisitionMode", "SingleFrame")
    camera.set("AcquisitionStart", None)
    assert run(camera, 50 * MS) == []
    assert camera.engine.failed_frames == 1


def test_acquisition_state_transitions_are_logged(
    camera: CameraModel, caplog: pytest.LogCaptureFixture
) -> None:
    """The state is an Enum changed by one function that logs each transition."""
    from openpss.devices.camera.acquisition import AcquisitionState

    caplog.set_level("DEBUG", logger="openpss.devices.camera.acquisition")
    camera.set("TriggerSelector", "AcquisitionStart")
    hardware_trigger(camera)
    camera.set("AcquisitionStart", None)
    assert camera.engine.state is AcquisitionState.armed
    pulse(camera, "Line1", 10 * MS, 1 * MS)
    run(camera, 20 * MS)
    assert camera.engine.state is AcquisitionState.active
    camera.set("AcquisitionStop", None)
    assert camera.engine.state is AcquisitionState.idle
    transitions = [r.getMessage() for r in caplog.records if "acquisition " in r.getMessage()]
    assert [t.split(" (")[0] for t in transitions] == [
        "acquisition idle -> armed",
        "acquisition armed -> active",
        "acquisition active -> idle",
    ]
