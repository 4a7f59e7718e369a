"""Display conversions: demosaicing and any payload to 8-bit RGB."""

from __future__ import annotations

import numpy as np

from openpss.imaging import (
    BAYER_RG8,
    BAYER_RG12,
    BGR8,
    MONO12,
    MONO12_PACKED,
    demosaic,
    pack,
    preview_rgb8,
    to_rgb8,
)
from openpss.imaging.patterns import mosaic_rg


def test_demosaic_recovers_a_uniform_colour() -> None:
    rgb = np.zeros((8, 8, 3), dtype=np.uint16)
    rgb[...] = (200, 100, 50)
    out = demosaic(mosaic_rg(rgb).astype(np.float32))
    assert np.allclose(out, (200, 100, 50))


def test_demosaic_interpolates_between_sites() -> None:
    mosaic = np.zeros((4, 4), dtype=np.float32)
    mosaic[0, 0], mosaic[0, 2] = 10, 30  # two red sites
    out = demosaic(mosaic)
    assert out[0, 1, 0] == 20  # red at the green site between them: their mean
    assert out[0, 0, 0] == 10  # known sites stay exact


def test_to_rgb8_per_format() -> None:
    mono = np.array([[0, 4095], [2048, 16]], dtype=np.uint16)
    assert to_rgb8(pack(mono, MONO12), MONO12, 2, 2)[..., 0].tolist() == [[0, 255], [128, 1]]
    assert to_rgb8(pack(mono, MONO12_PACKED), MONO12_PACKED, 2, 2)[0, 1].tolist() == [255] * 3
    bgr = np.array([[[1, 2, 3]]], dtype=np.uint8)
    assert to_rgb8(pack(bgr, BGR8), BGR8, 1, 1).tolist() == [[[1, 2, 3]]]
    rgb = np.zeros((4, 4, 3), dtype=np.uint16)
    rgb[...] = (255, 128, 0)
    mosaic8 = mosaic_rg(rgb).astype(np.uint8)
    assert np.array_equal(to_rgb8(pack(mosaic8, BAYER_RG8), BAYER_RG8, 4, 4)[1, 1], (255, 128, 0))
    mosaic12 = (mosaic_rg(rgb) << 4).astype(np.uint16)
    assert to_rgb8(pack(mosaic12, BAYER_RG12), BAYER_RG12, 4, 4)[2, 2].tolist() == [255, 128, 0]


def test_preview_is_half_resolution_for_bayer() -> None:
    rgb = np.zeros((4, 6, 3), dtype=np.uint16)
    rgb[...] = (255 << 4, 100 << 4, 10 << 4)
    payload = pack(mosaic_rg(rgb).astype(np.uint16), BAYER_RG12)
    preview = preview_rgb8(payload, BAYER_RG12, 6, 4)
    assert preview.shape == (2, 3, 3) and preview[1, 2].tolist() == [255, 100, 10]
    mono = np.array([[0, 4095]], dtype=np.uint16)
    assert preview_rgb8(pack(mono, MONO12), MONO12, 2, 1).shape == (1, 2, 3)
