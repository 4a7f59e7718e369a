"""The FFC wizard (manual 3.4): dark field, bright field, compute, upload, enable.

The steps run the one flat-field procedure of the client (`protocols.gige_vision.ffc`, also
behind `openpss camera ffc`) on the live connection; the wizard keeps the captured fields.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from openpss.platform.errors import Conflict, Invalid, Unavailable
from openpss.platform.vision.live import PACKET_SIZE, LiveCamera
from openpss.protocols.gige_vision import ffc

logger = logging.getLogger(__name__)

Field = Literal["dark", "bright"]
FFC_MODES = ffc.MODES


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
        try:
            with ffc.linear_capture(live.camera) as color:
                images = ffc.capture(live.camera, frames, packet_size=PACKET_SIZE)
        except ffc.CalibrationError as exc:
            raise Invalid(str(exc)) from exc
        except Exception as exc:  # GVCP refusals and socket errors: say which step failed
            raise Unavailable(f"capturing the {field_name} field failed: {exc}") from exc
    state = state_of(live)
    state.frames[field_name] = images
    state.color = color
    live.log("ffc", f"captured {frames} {field_name}-field frame(s)")
    return len(images)


def apply(live: LiveCamera, mode: str) -> str:
    """Compute the coefficients, upload them (WRITEMEM), load and enable FFC; returns a summary."""
    if mode not in FFC_MODES:
        raise Invalid(f"unknown FFC mode {mode!r}; use point or plane16")
    state = state_of(live)
    for needed in ("dark", "bright"):
        if needed not in state.frames:
            raise Conflict(f"capture the {needed} field first")
    try:
        data = ffc.coefficients(
            state.frames["dark"], state.frames["bright"], mode, color=state.color
        )
        with live.lock:
            ffc.upload(live.camera, mode, data)
    except ffc.CalibrationError as exc:
        live.log("ffc", f"refused: {exc}")
        raise Invalid(str(exc)) from exc
    except Exception as exc:
        raise Unavailable(f"uploading the FFC coefficients failed: {exc}") from exc
    state.last_result = f"{FFC_MODES[mode]} coefficients ({len(data)} bytes) loaded, FFC enabled"
    live.log("ffc", state.last_result)
    return state.last_result
