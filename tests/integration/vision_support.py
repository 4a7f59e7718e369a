"""A virtual camera (the real CameraModel and front-end) on 127.0.0.1 for the viewer tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from openpss.devices.camera.model import CameraModel
from openpss.devices.camera.server import BackgroundCamera, CameraFrontEnd

WIDTH, HEIGHT = 256, 192


@dataclass
class VirtualCamera:
    """The running camera and a way to point it at a dark or flat scene."""

    front: CameraFrontEnd
    background: BackgroundCamera
    model: CameraModel

    @property
    def port(self) -> int:
        return self.front.gvcp_port

    def scene(self, kind: str, illumination: float = 1.0) -> None:
        """Change what the sensor sees (dark field = illumination 0), on the camera's thread."""
        view = "scene" if kind == "pattern" else kind
        self.background.call(lambda: self.model.set_view(view, illumination))


@contextmanager
def virtual_camera(data_dir: Path) -> Iterator[VirtualCamera]:
    """A small colour camera on a free GVCP port of 127.0.0.1."""
    model = CameraModel(data_dir=data_dir, width=WIDTH, height=HEIGHT)
    front = CameraFrontEnd(model, host="127.0.0.1", gvcp_port=0, data_dir=data_dir)
    background = BackgroundCamera(front)
    with background:
        yield VirtualCamera(front, background, model)
