"""The virtual area-scan camera's device model: feature registers, rules, acquisition, events.

No I/O except the user-set and FFC files in data_dir: the network front-end (server.py) owns
the sockets, answers the bootstrap registers itself and calls `read`/`write`/`poll`/`drain_events`
here.
"""

from __future__ import annotations

import bisect
import logging
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from openpss import __version__ as openpss_version
from openpss.devices.camera.acquisition import (
    INPUT_LINES,
    LINE_TIME_NS,
    Acquisition,
    AcquisitionState,
)
from openpss.devices.camera.errors import (
    AccessDenied,
    BadAddress,
    InvalidParameter,
    WriteProtect,
)
from openpss.devices.camera.features import EVENT_IDS, FFC_DATA_ADDRESS, build_feature_table
from openpss.devices.camera.ffcstore import FFCRefused, FFCStore
from openpss.devices.camera.frames import DeviceEvent, Frame
from openpss.devices.camera.registers import Value, decode, encode, encode_int
from openpss.devices.camera.render import ImageSource, image_settings, payload_of
from openpss.devices.camera.rules import FeatureRules
from openpss.devices.camera.usersets import Settings, UserSetStore
from openpss.imaging import formats
from openpss.imaging.sensor import SceneKind
from openpss.imaging.settings import ImageSettings
from openpss.protocols.genicam import Access, DeviceInfo, Feature, Kind, generate_xml

logger = logging.getLogger(__name__)

MAX_QUEUED_EVENTS = 1000
MAX_QUEUED_FRAMES = 64
ONCE_MAX_FRAMES = 30  # an auto "Once" gives up (turns Off) after this many frames


class CameraModel(FeatureRules):
    """A GigE Vision area-scan camera's features and behaviour, driven by `now_ns` timestamps."""

    manufacturer = "openpss"

    def __init__(
        self,
        *,
        data_dir: Path | None,
        serial: str = "OPSS0001",
        width: int = 2448,
        height: int = 2048,
        seed: int = 1,
        color: bool = True,
        clock: Callable[[], int] | None = None,
        line_time_ns: int = LINE_TIME_NS,
    ) -> None:
        self.serial = serial
        self.model_name = f"OPSS-GV{width}{'C' if color else 'M'}"
        self.device_version = openpss_version
        self.images = ImageSource(width, height, seed, color)
        sensor = self.images.sensor
        test_images = tuple(t.value for t in sensor.test_images)
        self.table = build_feature_table(sensor.pixel_formats, test_images)
        self.clock = clock
        self._values: dict[tuple[str, tuple[Any, ...]], Value] = {}
        self._lut = list(range(4096))
        self.ffc = FFCStore(width, height, data_dir)
        self._events: list[DeviceEvent] = []
        self._frames: list[Frame] = []
        self._once_frames = 0
        self._xml: bytes | None = None
        self._registers = self._register_index()
        self._register_starts = [item[0] for item in self._registers]
        self.engine = Acquisition(self, line_time_ns)
        self.usersets = UserSetStore(data_dir)
        self._computer_map = self._computers()
        self._load_user_set(self.usersets.default, at_power_up=True)

    # -- identity and XML -------------------------------------------------------------------
    def genicam_xml(self) -> bytes:
        """The GenICam XML describing every feature (the first URL points at it)."""
        if self._xml is None:
            info = DeviceInfo(self.manufacturer, self.model_name, "openpss virtual camera")
            self._xml = generate_xml(self.table, info)
        return self._xml

    @property
    def payload_size(self) -> int:
        """Bytes of one frame's image data at the current ROI and pixel format."""
        return int(self.get("PayloadSize"))

    @property
    def acquiring(self) -> bool:
        """True from AcquisitionStart until AcquisitionStop or the last frame of the mode."""
        return self.engine.state is not AcquisitionState.idle

    def tl_params_locked(self, locked: bool) -> None:
        """The front-end locks transport parameters while its stream channel is open."""
        self._values[("TLParamsLocked", ())] = int(locked)

    # -- feature values ---------------------------------------------------------------------
    def _key(self, feature: Feature, selectors: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            selectors[name] if name in selectors else self.get(name) for name in feature.selected_by
        )

    def get(self, name: str, **selectors: Any) -> Any:
        """The value of feature `name` (selectors default to their current values)."""
        feature = self.table[name]
        key = self._key(feature, selectors)
        computed = self._computed(name, key)
        if computed is not None:
            return computed
        if (name, key) in self._values:
            return self._values[(name, key)]
        return self._default(feature, key)

    def set(self, name: str, value: Any, **selectors: Any) -> None:
        """Set (or, for a Command, execute) a feature as a client write would, with every rule."""
        feature = self.table[name]
        if feature.is_bootstrap:
            raise WriteProtect(f"{name} is a bootstrap register; the network front-end owns it")
        if feature.access == Access.RO:
            raise WriteProtect(f"{name} is read-only")
        key = self._key(feature, selectors)
        reason = self.lock_reason(name, key)
        if reason:
            raise AccessDenied(reason)
        if feature.kind == Kind.COMMAND:
            self._execute(name, key)
        elif name == "UserSetDefault":
            self._set_user_set_default(str(self._validate(feature, value)))
        else:
            self._store(feature, key, self._validate(feature, value))

    def _store(self, feature: Feature, key: tuple[Any, ...], value: Value) -> None:
        old = self.get(feature.name, **dict(zip(feature.selected_by, key, strict=True)))
        self._values[(feature.name, key)] = value
        if old != value:
            self._changed(feature.name, key, value)

    def _validate(self, feature: Feature, value: Any) -> Value:
        name = feature.name
        if feature.kind == Kind.ENUMERATION:
            names = [e.name for e in feature.entries]
            if value not in names:
                raise InvalidParameter(f"{name} has no entry {value!r}; use {', '.join(names)}")
            return str(value)
        if feature.kind == Kind.BOOLEAN:
            if not isinstance(value, bool | int) or value not in (0, 1):
                raise InvalidParameter(f"{name} is a Boolean: use True or False")
            return bool(value)
        if feature.kind == Kind.STRING:
            if len(str(value).encode()) > feature.length - 1:
                raise InvalidParameter(f"{name} holds at most {feature.length - 1} bytes")
            return str(value)
        return self._validate_number(feature, value)

    def _validate_number(self, feature: Feature, value: Any) -> Value:
        name = feature.name
        low, high = self.limits(feature)
        if feature.kind == Kind.FLOAT:
            number: float = float(value)
            if not np.isfinite(number) or not low <= number <= high:
                raise InvalidParameter(f"{name} {value} is out of range {low:g}-{high:g}")
            return number
        if isinstance(value, float) and not value.is_integer():
            raise InvalidParameter(f"{name} is an Integer; {value} is not a whole number")
        integer = int(value)
        if not low <= integer <= high:
            raise InvalidParameter(f"{name} {integer} is out of range {low:g}-{high:g}")
        step = feature.increment or 1
        if (integer - int(low)) % step:
            raise InvalidParameter(f"{name} {integer} must be {int(low)} plus a multiple of {step}")
        return integer

    def _default(self, feature: Feature, key: tuple[Any, ...]) -> Value:
        name = feature.name
        if name == "LineMode":
            return "Output" if key[0] == "Line0" else "Input"
        if name == "LineSource" and key[0] == "Line0":
            return "ExposureActive"
        if name == "LUTValue":
            return int(key[1])
        if name in ("Width", "Height"):
            return self.get(f"{name}Max")
        if feature.kind == Kind.BOOLEAN:
            return bool(feature.default)
        if feature.kind in (Kind.ENUMERATION, Kind.STRING):
            return str(feature.default)
        if feature.kind == Kind.FLOAT:
            return float(feature.default)
        return int(feature.default)

    def _computers(self) -> dict[str, Callable[[], Value]]:
        sensor = self.images.sensor
        return {
            "SensorWidth": lambda: sensor.width,
            "SensorHeight": lambda: sensor.height,
            "WidthMax": lambda: sensor.max_size(self.get("BinningHorizontal"), 1)[0],
            "HeightMax": lambda: sensor.max_size(1, self.get("BinningVertical"))[1],
            "PayloadSize": self._payload_size,
            "ResultingFrameRateAbs": self.engine.resulting_frame_rate,
            "DeviceTemperature": lambda: 38.5 + (4.0 if self.acquiring else 0.0),
            "DeviceVendorName": lambda: self.manufacturer,
            "DeviceModelName": lambda: self.model_name,
            "DeviceVersion": lambda: self.device_version,
            "DeviceSerialNumber": lambda: self.serial,
            "DeviceFirmwareVersion": lambda: self.device_version,
            "LineStatusAll": self._line_status_all,
            "FFCDataAddress": lambda: FFC_DATA_ADDRESS,
            "FFCDataSize": self.ffc_data_size,
            "UserSetDefault": lambda: self.usersets.default,
        }

    def _computed(self, name: str, key: tuple[Any, ...]) -> Value | None:
        computer = self._computer_map.get(name)
        if computer is not None:
            return computer()
        if name == "LineStatus":
            return self._line_status(key[0])
        return None

    def _payload_size(self) -> int:
        code = formats.pixel_format_code(self.get("PixelFormat"))
        return formats.payload_size(self.get("Width"), self.get("Height"), code)

    def _line_status(self, line: str) -> bool:
        if line in INPUT_LINES and self.get("LineMode", LineSelector=line) == "Input":
            return self.engine.input_level(line)
        return self.engine.output_levels().get(line, False)

    def _line_status_all(self) -> int:
        return sum(1 << n for n in range(3) if self._line_status(f"Line{n}"))

    # -- side effects -----------------------------------------------------------------------
    def _changed(self, name: str, key: tuple[Any, ...], value: Value) -> None:
        if name in ("BinningHorizontal", "BinningVertical"):
            self._fit_roi()
        elif name == "LUTValue":
            self._lut[int(key[1])] = int(value)
        elif name.startswith(("Trigger", "AcquisitionFrameRate")):
            self.engine.reconfigure()
        elif name.startswith(("Line", "UserOutput")):
            self.engine.update_outputs(self.engine.now)
        elif name in ("GainAuto", "BlackLevelAuto", "BalanceWhiteAuto"):
            self._once_frames = 0

    def _fit_roi(self) -> None:
        for size, offset, limit in (
            ("Width", "OffsetX", "WidthMax"),
            ("Height", "OffsetY", "HeightMax"),
        ):
            most = self.get(limit)
            width = min(self.get(size), most)
            self._values[(size, ())] = width
            self._values[(offset, ())] = min(self.get(offset), most - width)

    def _execute(self, name: str, key: tuple[Any, ...]) -> None:
        self._sync_clock()
        if name == "AcquisitionStart":
            self.engine.start()
        elif name == "AcquisitionStop":
            self.engine.stop()
        elif name == "TriggerSoftware":
            self.engine.trigger(key[0], self.engine.now)
            self.engine.advance(self.engine.now)
        elif name == "UserSetLoad":
            self._load_user_set(self.get("UserSetSelector"))
        elif name == "UserSetSave":
            self.usersets.save(self.get("UserSetSelector"), self._snapshot())
        elif name == "FFCDataLoad":
            self._load_ffc()

    def _sync_clock(self) -> None:
        if self.clock is not None:
            self.engine.advance(self.clock())

    # -- user sets --------------------------------------------------------------------------
    def _snapshot(self) -> Settings:
        return {
            (name, key): value
            for (name, key), value in self._values.items()
            if self.table[name].persistent
        }

    def _load_user_set(self, name: str, *, at_power_up: bool = False) -> None:
        saved = {} if name == "Default" else self.usersets.get(name)
        if saved is None:
            if at_power_up:
                logger.warning("power-up user set %s was never saved; using Default", name)
                saved = {}
            else:
                raise InvalidParameter(f"{name} was never saved; select it and run UserSetSave")
        kept = {k: v for k, v in self._values.items() if not self.table[k[0]].persistent}
        self._values = kept
        self._lut = list(range(4096))
        for (feature_name, key), value in saved.items():
            if not self._fits(feature_name, key, value):
                logger.warning("user set %s: ignoring %s=%r", name, feature_name, value)
                continue
            self._values[(feature_name, tuple(key))] = value
            if feature_name == "LUTValue":
                self._lut[int(key[1])] = int(value)
        self._fit_roi()
        if self.get("FFCEnable") and self.get("FFCMode") not in self.ffc.loaded:
            self._values[("FFCEnable", ())] = False  # no coefficients for this mode
        self.engine.update_outputs(self.engine.now)

    def _fits(self, name: str, key: tuple[Any, ...], value: Any) -> bool:
        """Whether a saved value still fits this camera (another sensor may have saved it)."""
        feature = self.table.get(name)
        if feature is None or not feature.persistent or len(key) != len(feature.selected_by):
            return False
        if feature.kind == Kind.ENUMERATION:
            return value in {e.name for e in feature.entries}
        if feature.kind in (Kind.INTEGER, Kind.FLOAT):
            high = feature.maximum if feature.maximum is not None else feature.int_maximum
            low = feature.minimum if feature.minimum is not None else 0
            return isinstance(value, int | float) and low <= value <= high
        return isinstance(value, bool | str)

    def _set_user_set_default(self, name: str) -> None:
        if name != "Default" and self.usersets.get(name) is None:
            raise InvalidParameter(f"{name} was never saved; save it before making it the default")
        self.usersets.set_default(name)

    # -- flat-field correction --------------------------------------------------------------
    def ffc_data_size(self) -> int:
        """Bytes the current FFCMode's coefficients take at FFCDataAddress."""
        return self.ffc.data_size(self.get("FFCMode"))

    def _load_ffc(self) -> None:
        try:
            self.ffc.load(self.get("FFCMode"))
        except FFCRefused as exc:
            self._values[("FFCStatus", ())] = exc.status
            raise
        self._values[("FFCStatus", ())] = "Loaded"

    def set_view(self, view: str, illumination: float = 1.0) -> None:
        """What the lens sees: "scene" (test scene), "flat" (even white target), "dark" (capped)."""
        if view not in ("scene", "flat", "dark"):
            raise ValueError(f"unknown view {view!r}; use scene, flat or dark")
        scene: SceneKind = "flat" if view == "flat" else "pattern"
        self.images.sensor.set_scene(scene, 0.0 if view == "dark" else illumination)
        logger.info("camera now sees %s (illumination %g)", view, illumination)

    # -- image settings, frames and events (Acquisition host) -------------------------------
    def image_settings(self) -> ImageSettings:
        """ImageSettings for the features in force now."""
        lut = tuple(self._lut) if self.get("LUTEnable", LUTSelector="Luminance") else None
        return image_settings(self.get, self.ffc.loaded.get(self.get("FFCMode")), lut)

    def deliver(self, start_ns: int, end_ns: int, settings: ImageSettings, frame_id: int) -> None:
        """Render the frame exposed from start_ns and queue it with its ExposureEnd event."""
        try:
            image = self.images.render(settings)
            payload = payload_of(image, settings.pixel_format)
        except ValueError as exc:  # ImagingError: keep the device running, lose this frame
            self.engine.failed_frames += 1
            logger.error("frame %d not rendered: %s", frame_id, exc)
            return
        frame = Frame(
            start_ns,
            settings.width,
            settings.height,
            settings.offset_x,
            settings.offset_y,
            settings.pixel_format,
            payload,
            frame_id,
        )
        self._frames.append(frame)
        del self._frames[:-MAX_QUEUED_FRAMES]
        self.emit("ExposureEnd", end_ns, frame_id)
        self._run_auto(image, settings)

    def _run_auto(self, image: np.ndarray, settings: ImageSettings) -> None:
        modes = {n: self.get(n) for n in ("GainAuto", "BlackLevelAuto", "BalanceWhiteAuto")}
        if all(mode == "Off" for mode in modes.values()):
            return
        self._once_frames += 1
        updates = self.images.auto_updates(image, settings, modes)
        before = dict(self._values)
        ratios = updates.pop("BalanceRatio", ())
        for colour, ratio in zip(("Red", "Green", "Blue"), ratios, strict=False):
            self._values[("BalanceRatio", (colour,))] = ratio
        for name, value in updates.items():
            self._values[(name, ())] = value
        for name, mode in modes.items():
            if mode == "Once" and self._once_frames >= ONCE_MAX_FRAMES:
                self._values[(name, ())] = "Off"  # give up rather than run forever
        if self._values != before:
            self.emit("ParameterChanged", self.engine.now, self.engine.frame_counter)

    def emit(self, event: str, timestamp_ns: int, frame_id: int) -> None:
        """Record an event's data features and queue it if its EventNotification is On."""
        self._values[(f"Event{event}", ())] = EVENT_IDS[event]
        self._values[(f"Event{event}Timestamp", ())] = timestamp_ns
        self._values[(f"Event{event}FrameID", ())] = frame_id
        if self.get("EventNotification", EventSelector=event) == "On":
            data = struct.pack(">Q", frame_id)
            self._events.append(DeviceEvent(EVENT_IDS[event], timestamp_ns, data))
            del self._events[:-MAX_QUEUED_EVENTS]

    def poll(self, now_ns: int) -> list[Frame]:
        """Frames completed up to now_ns, oldest first."""
        self.engine.advance(now_ns)
        frames, self._frames = self._frames, []
        return frames

    def drain_events(self) -> list[DeviceEvent]:
        """Events queued for the message channel since the last call."""
        events, self._events = self._events, []
        return events

    def set_line_input(self, line: str, level: bool, at_ns: int) -> None:
        """Drive an input line (control channel): Line1, or Line2 in Input mode."""
        if line not in INPUT_LINES:
            raise ValueError(f"{line} is not an input line; use Line1 or Line2")
        if self.get("LineMode", LineSelector=line) != "Input":
            raise ValueError(f"{line} is in Output mode; set LineMode to Input first")
        self.engine.set_input(line, bool(level), at_ns)

    def output_levels(self) -> dict[str, bool]:
        """Levels of the output lines now (Line0, and Line2 in Output mode)."""
        return self.engine.output_levels()

    def output_changes(self, since_ns: int = 0) -> list[tuple[int, str, bool]]:
        """Output level changes (time_ns, line, level) at or after since_ns, oldest first."""
        return [change for change in self.engine.output_changes if change[0] >= since_ns]

    # -- registers --------------------------------------------------------------------------
    def _register_index(self) -> list[tuple[int, int, str, Feature]]:
        index = []
        for feature in self.table:
            if feature.address is not None and not feature.is_bootstrap:
                index.append((feature.address, feature.length, "value", feature))
            for kind, address in (
                ("min", feature.min_address),
                ("max", feature.max_address),
                ("lock", feature.lock_address),
            ):
                if address is not None:
                    index.append((address, 4, kind, feature))
        return sorted(index, key=lambda item: item[0])

    def _register_at(self, address: int) -> tuple[int, int, str, Feature]:
        position = bisect.bisect_right(self._register_starts, address) - 1
        if position >= 0:
            item = self._registers[position]
            if item[0] <= address < item[0] + item[1]:
                return item
        raise BadAddress(f"no register at 0x{address:X}")

    def _register_bytes(self, kind: str, feature: Feature) -> bytes:
        if kind == "value":
            if feature.kind == Kind.COMMAND:
                return bytes(feature.length)
            return encode(feature, self.get(feature.name))
        if kind == "lock":
            return encode_int(int(bool(self.lock_reason(feature.name))), 4)
        low, high = self.limits(feature)
        return encode_int(int(low if kind == "min" else high), 4)

    def read(self, address: int, size: int) -> bytes:
        """Bytes of feature space (address >= 0x10000) or of the FFC upload area."""
        if address >= FFC_DATA_ADDRESS:
            return self.ffc.read(address - FFC_DATA_ADDRESS, size)
        out = bytearray()
        cursor, end = address, address + size
        while cursor < end:
            start, length, kind, feature = self._register_at(cursor)
            data = self._register_bytes(kind, feature)
            stop = min(end, start + length)
            out += data[cursor - start : stop - start]
            cursor = stop
        return bytes(out)

    def write(self, address: int, data: bytes) -> None:
        """Write a whole feature register (or the FFC upload area); raises RegisterError."""
        if address >= FFC_DATA_ADDRESS:
            self.ffc.write(address - FFC_DATA_ADDRESS, data)
            return
        start, length, kind, feature = self._register_at(address)
        if start != address or kind != "value":
            if kind != "value":
                raise WriteProtect(f"{feature.name}_{kind.capitalize()} is read-only")
            raise BadAddress(f"0x{address:X} is inside {feature.name}; write from 0x{start:X}")
        if len(data) > length:
            raise BadAddress(f"{feature.name} is {length} bytes; {len(data)} were written")
        if feature.kind == Kind.COMMAND:
            if int.from_bytes(data, "big") != feature.command_value:
                raise InvalidParameter(f"{feature.name}: write {feature.command_value} to execute")
            self.set(feature.name, None)
        else:
            self.set(feature.name, decode(feature, data))
        self.emit("ParameterChanged", self.engine.now, address)
