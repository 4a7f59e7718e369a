"""The camera module's synthetic picture: a test scene with the VTO number and a running clock.

Pure rendering (Pillow, NumPy): the encoder (``media.py``) turns frames into H.264 and
``snapshot.cgi`` into JPEG. The static part is drawn once per size; each frame adds the
clock, a frame counter and a bar that moves so motion is visible.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BARS = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0)]
BARS += [(192, 0, 192), (192, 0, 0), (0, 0, 192)]  # SMPTE-like colour bars


@lru_cache(maxsize=8)
def _background(width: int, height: int, label: str) -> Image.Image:
    image = Image.new("RGB", (width, height), (16, 16, 16))
    draw = ImageDraw.Draw(image)
    bar_width = width // len(BARS)
    for index, colour in enumerate(BARS):
        draw.rectangle(
            [index * bar_width, 0, (index + 1) * bar_width, height * 2 // 3], fill=colour
        )
    font = _font(max(12, height // 12))
    draw.text((width // 20, height * 2 // 3 + height // 40), label, fill="white", font=font)
    return image


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def render(width: int, height: int, label: str, at: dt.datetime, frame: int) -> Image.Image:
    """One frame: colour bars, the label (VTO number), the time and a moving bar."""
    image = _background(width, height, label).copy()
    draw = ImageDraw.Draw(image)
    font = _font(max(12, height // 12))
    text = f"{at:%Y-%m-%d %H:%M:%S}  #{frame}"
    draw.text((width // 20, height * 5 // 6), text, fill=(255, 255, 0), font=font)
    x = (frame * 8) % width
    draw.rectangle([x, 0, x + width // 64, height * 2 // 3], fill="white")
    return image


def render_array(width: int, height: int, label: str, at: dt.datetime, frame: int) -> np.ndarray:
    """``render`` as an RGB24 array (height, width, 3)."""
    return np.asarray(render(width, height, label, at, frame))


def snapshot_jpeg(width: int, height: int, label: str, at: dt.datetime) -> bytes:
    """A JPEG of the current picture (``snapshot.cgi``)."""
    buffer = io.BytesIO()
    render(width, height, label, at, 0).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()
