"""What the camera model hands to its front-end: image frames and device events."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    """One acquired image; the front-end adds the block id and packetises it (GVSP)."""

    timestamp_ns: int
    width: int
    height: int
    offset_x: int
    offset_y: int
    pixel_format: int  # PFNC code, e.g. 0x01080001 for Mono8
    payload: bytes | memoryview
    frame_id: int = 0  # the model's own running frame counter (1-based)


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """One message-channel event (GigE Vision EVENTDATA): id, time and its data bytes."""

    event_id: int
    timestamp_ns: int
    data: bytes = b""
