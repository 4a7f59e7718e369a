"""The FFC wizard (manual 3.4): dark field, bright field, compute, upload, enable.

Captures run with linear settings (gain 1, no white balance, gamma, LUT or FFC, full sensor,
12-bit) and restore the user's settings afterwards.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from openpss.imaging import FFCError, compute_ffc
from openpss.imaging.ffc import CALIBRATION_BLACK_LEVEL
from openpss.platform.errors import Conflict, DomainError, Invalid, Unavailable
from openpss.platform.vision.live import LiveCamera

logger = logging.getLogger(__name__)

Field = Literal["dark", "bright"]
CAPTURE_TIMEOUT = 20.0
FFC_MODES = {"point": "PointToPoint", "plane16": "Plane16x16"}
# Feature writes that make the image linear; order matters (binning before size, size last).
_LINEAR = (
    ("AcquisitionMode", "MultiFrame"),
    ("TestImageSelector", "Off"),
    ("ReverseX", "0"),
    ("ReverseY", "0"),
    ("BinningHorizontal", "1"),
    ("BinningVertical", "1"),
    ("OffsetX", "0"),
    ("OffsetY", "0"),
    ("Width", "@WidthMax"),
    ("Height", "@HeightMax"),
    ("FFCEnable", "0"),
    ("GammaEnable", "0"),
    ("LUTEnable", "0"),
    ("GainAuto", "Off"),
    ("GainRaw", "1"),
    ("DigitalShift", "0"),
    ("BalanceWhiteAuto", "Off"),
    ("BlackLevelAuto", "Off"),
    ("BlackLevel", str(CALIBRATION_BLACK_LEVEL)),
)


@dataclass
class WizardState:
    """Frames captured so far for one camera."""

    frames: dict[str, list[np.ndarray]] = field(default_factory=dict)
    color: bool = False
    last_result: str = ""


def state_of(live: LiveCamera) -> WizardState:
    """The wizard state kept on the live connection."""
    state = getattr(live, "ffc_wizard", None)
    if state is None:
        state = WizardState()
        live.ffc_wizard = state  # type: ignore[attr-defined]
    return state


def capture(live: LiveCamera, field_name: Field, frames: int = 4) -> int:
    """Capture `frames` frames of the dark or bright field with linear settings; returns count."""
    with live.lock:
        live.stop()
        saved = _save(live)
        try:
            color = _linearise(live)
            live.play("MultiFrame", frames)
            snaps = live.wait_frames(frames, CAPTURE_TIMEOUT)
        finally:
            live.stop()
            _restore(live, saved)
    state = state_of(live)
    state.frames[field_name] = [snap.array() for snap in snaps]
    state.color = color
    live.log("ffc", f"captured {frames} {field_name}-field frame(s)")
    return len(snaps)


def apply(live: LiveCamera, mode: str) -> str:
    """Compute the coefficients, upload them (WRITEMEM), load and enable FFC; returns a summary."""
    if mode not in FFC_MODES:
        raise Invalid(f"unknown FFC mode {mode!r}; use point or plane16")
    state = state_of(live)
    for needed in ("dark", "bright"):
        if needed not in state.frames:
            raise Conflict(f"capture the {needed} field first")
    try:
        coefficients = compute_ffc(
            state.frames["dark"],
            state.frames["bright"],
            "point" if mode == "point" else "plane16",
            color=state.color,
        )
    except FFCError as exc:
        live.log("ffc", f"refused: {exc}")
        raise Invalid(str(exc)) from exc
    data = coefficients.to_bytes()
    with live.lock:
        live.set("FFCMode", FFC_MODES[mode])
        address = int(live.get("FFCDataAddress"), 0)
        try:
            live.camera.client.write_memory(address, data)
        except Exception as exc:
            raise Unavailable(f"uploading the FFC coefficients failed: {exc}") from exc
        live.execute("FFCDataLoad")
        live.set("FFCEnable", "1")
    state.last_result = f"{FFC_MODES[mode]} coefficients ({len(data)} bytes) loaded, FFC enabled"
    live.log("ffc", state.last_result)
    return state.last_result


def _save(live: LiveCamera) -> list[tuple[str, str]]:
    saved = []
    for name, _ in _LINEAR:
        try:
            saved.append((name, live.get(name)))
        except DomainError:
            continue
    for colour in ("Red", "Green", "Blue"):
        try:
            live.set("BalanceRatioSelector", colour)
            saved.append((f"BalanceRatio:{colour}", live.get("BalanceRatio")))
        except DomainError:
            break
    with contextlib.suppress(DomainError):
        saved.append(("PixelFormat", live.get("PixelFormat")))
    return saved


def _linearise(live: LiveCamera) -> bool:
    """Apply the linear capture settings; True for a colour (Bayer) camera."""
    for name, value in _LINEAR:
        if value.startswith("@"):
            value = live.get(value[1:])
        try:
            live.set(name, value)
        except DomainError as exc:
            logger.debug("FFC capture: %s", exc)
    for colour in ("Red", "Green", "Blue"):
        try:
            live.set("BalanceRatioSelector", colour)
            live.set("BalanceRatio", "1")
        except DomainError:
            break
    options = _pixel_formats(live)
    color = "BayerRG12" in options
    target = "BayerRG12" if color else "Mono12"
    if target not in options:
        raise Invalid("FFC needs a 12-bit pixel format (Mono12 or BayerRG12)")
    live.set("PixelFormat", target)
    return color


def _pixel_formats(live: LiveCamera) -> list[str]:
    with live.lock:
        try:
            return [str(s) for s in live.camera.node("PixelFormat").symbolics]
        except Exception as exc:
            raise Unavailable(f"cannot read the pixel formats: {exc}") from exc


def _restore(live: LiveCamera, saved: list[tuple[str, str]]) -> None:
    """Write the saved values back, pixel format first and sizes before offsets."""
    for name, value in reversed(saved):
        try:
            if name.startswith("BalanceRatio:"):
                live.set("BalanceRatioSelector", name.split(":")[1])
                live.set("BalanceRatio", value)
            else:
                live.set(name, value)
        except DomainError as exc:
            logger.info("FFC capture: could not restore %s: %s", name, exc)
