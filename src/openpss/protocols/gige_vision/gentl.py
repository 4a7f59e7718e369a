"""Other transports (USB3 Vision, vendor stacks) through `harvesters` and a GenTL producer (.cti).

Our own GVCP/GVSP stack handles GigE Vision; any camera a GenTL producer exposes is reached here.
The `genicam` wheel bundles a simulated producer (viky.cti) that tests use offline.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenTLDevice:
    """One device a producer offers."""

    index: int
    id: str
    vendor: str
    model: str
    serial: str
    tl_type: str


@dataclass(frozen=True)
class GenTLFrame:
    """One fetched image (copied out of the producer's buffer)."""

    width: int
    height: int
    pixel_format: str
    data: np.ndarray


def bundled_producer() -> Path | None:
    """The simulated producer shipped inside the `genicam` wheel, if present."""
    import genicam

    path = Path(genicam.__file__).parent / "viky.cti"
    return path if path.exists() else None


def producers(explicit: list[Path] | None = None) -> list[Path]:
    """Producer files: the given ones, else GENICAM_GENTL64_PATH, else the bundled one."""
    if explicit:
        missing = [str(p) for p in explicit if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"GenTL producer not found: {', '.join(missing)}")
        return explicit
    found = [
        cti
        for folder in os.environ.get("GENICAM_GENTL64_PATH", "").split(os.pathsep)
        if folder and Path(folder).is_dir()
        for cti in sorted(Path(folder).glob("*.cti"))
    ]
    bundled = bundled_producer()
    return found or ([bundled] if bundled else [])


@contextmanager
def harvester(cti_files: list[Path]) -> Iterator[Any]:
    """A Harvester with the producers loaded and the device list updated."""
    from harvesters.core import Harvester

    if not cti_files:
        raise FileNotFoundError("no GenTL producer (.cti) given or found in GENICAM_GENTL64_PATH")
    h = Harvester()
    try:
        for cti in cti_files:
            h.add_file(str(cti))
        h.update()
        yield h
    finally:
        h.reset()


def list_devices(cti_files: list[Path]) -> list[GenTLDevice]:
    """Devices offered by the producers."""
    with harvester(cti_files) as h:
        return [
            GenTLDevice(
                index,
                str(info.id_),
                str(info.vendor),
                str(info.model),
                str(info.serial_number),
                str(info.tl_type),
            )
            for index, info in enumerate(h.device_info_list)
        ]


def acquire(
    cti_files: list[Path], index: int, count: int, *, timeout: float = 5.0
) -> tuple[dict[str, str], list[GenTLFrame]]:
    """Open device `index`, fetch `count` frames; returns (a few feature values, frames)."""
    with harvester(cti_files) as h:
        if not 0 <= index < len(h.device_info_list):
            raise IndexError(
                f"no GenTL device #{index}; the producers offer {len(h.device_info_list)}"
            )
        acquirer = h.create(index)
        try:
            node_map = acquirer.remote_device.node_map
            features = {
                name: str(getattr(node_map, name).value)
                for name in ("Width", "Height", "PixelFormat")
                if hasattr(node_map, name)
            }
            frames: list[GenTLFrame] = []
            acquirer.start()
            for _ in range(count):
                with acquirer.fetch(timeout=timeout) as buffer:
                    part = buffer.payload.components[0]
                    frames.append(
                        GenTLFrame(part.width, part.height, str(part.data_format), part.data.copy())
                    )
            acquirer.stop()
            return features, frames
        finally:
            acquirer.destroy()
