"""Frame files for download and preview: PNG (8-bit, demosaiced) and TIFF (samples as sent)."""

from __future__ import annotations

import io

import numpy as np
import tifffile
from PIL import Image

from openpss.imaging import preview_rgb8
from openpss.imaging.formats import BAYER_FORMATS, RGB_FORMATS, sample_bits
from openpss.platform.vision.live import Snapshot

PREVIEW_MAX = 1024  # longest side of the live preview


def png_bytes(snapshot: Snapshot, *, preview: bool = False) -> bytes:
    """The frame as an 8-bit PNG (colour when the format is Bayer or RGB)."""
    if preview and snapshot.pixel_format in BAYER_FORMATS:
        rgb = preview_rgb8(snapshot.payload, snapshot.pixel_format, snapshot.width, snapshot.height)
        image = Image.fromarray(rgb, "RGB")
    elif snapshot.pixel_format in BAYER_FORMATS | RGB_FORMATS:
        image = Image.fromarray(snapshot.rgb8(), "RGB")
    else:
        samples = snapshot.array()
        shift = sample_bits(snapshot.pixel_format) - 8
        image = Image.fromarray((samples >> shift).astype(np.uint8) if shift else samples, "L")
    if preview and max(image.size) > PREVIEW_MAX:
        image.thumbnail((PREVIEW_MAX, PREVIEW_MAX))
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1 if preview else 6)
    return out.getvalue()


def tiff_bytes(snapshot: Snapshot) -> bytes:
    """The frame's samples unchanged (8 or 16 bit, mosaic kept) as a TIFF."""
    out = io.BytesIO()
    samples = snapshot.array()
    photometric = "rgb" if samples.ndim == 3 else "minisblack"
    tifffile.imwrite(out, samples, photometric=photometric, metadata=None)
    return out.getvalue()
