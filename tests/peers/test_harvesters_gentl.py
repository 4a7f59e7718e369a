"""Other transports: harvesters + the GenTL producer bundled with the `genicam` wheel (offline)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tifffile
from typer.testing import CliRunner

from openpss.cli import app
from openpss.protocols.gige_vision import gentl

pytestmark = pytest.mark.peers


@pytest.fixture
def producer() -> Path:
    path = gentl.bundled_producer()
    if path is None:
        pytest.fail("the genicam wheel no longer bundles viky.cti; point --cti at a producer")
    return path


def test_bundled_producer_lists_devices(producer: Path) -> None:
    devices = gentl.list_devices([producer])
    assert [d.id for d in devices] == ["VikyTL_DEV_red", "VikyTL_DEV_green", "VikyTL_DEV_blue"]
    assert {d.vendor for d in devices} == {"Machine Vision Games Ltd."}


def test_acquire_through_harvesters(producer: Path) -> None:
    features, frames = gentl.acquire([producer], 0, 2)
    assert features["Width"] == "400" and features["PixelFormat"] == "RGBa8"
    assert len(frames) == 2
    assert frames[0].width == 400 and frames[0].data.size == 400 * 400 * 4
    assert frames[0].data.dtype == np.uint8


def test_cli_gentl_acquire_saves_tiff(producer: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "camera",
            "gentl-acquire",
            "--cti",
            str(producer),
            "--count",
            "1",
            "--output",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "frame 1 400x400 RGBa8" in result.output
    assert tifffile.imread(tmp_path / "gentl_0001.tiff").size == 400 * 400 * 4


def test_cli_reports_missing_producer_and_device(producer: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["camera", "gentl-list", "--cti", str(tmp_path / "none.cti")])
    assert result.exit_code == 1 and "GenTL producer not found" in result.output
    result = runner.invoke(
        app, ["camera", "gentl-acquire", "--cti", str(producer), "--device", "7"]
    )
    assert result.exit_code == 1 and "no GenTL device #7; the producers offer 3" in result.output
