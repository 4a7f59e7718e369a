"""Validation of uploaded images (face images, company logo) with Pillow."""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from openpss.platform.errors import Invalid

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_FACE_BYTES = 100 * 1024  # manual: "Image Size: 0-100 KB"
MAX_LOGO_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed validation."""

    data: bytes
    content_type: str
    width: int
    height: int


def check_image(data: bytes, *, what: str, max_bytes: int) -> CheckedImage:
    """Accept a real JPEG or PNG image of at most `max_bytes`; Invalid otherwise."""
    if not data:
        raise Invalid(f"{what} is empty")
    if len(data) > max_bytes:
        raise Invalid(f"{what} is {len(data) // 1024} KB; the limit is {max_bytes // 1024} KB")
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or ""
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Invalid(f"{what} is not a readable JPEG or PNG image") from None
    if kind not in FORMATS:
        raise Invalid(f"{what} is {kind or 'an unknown format'}; upload a JPEG or PNG image")
    return CheckedImage(data, FORMATS[kind], width, height)
