"""Pixel formats (PFNC codes), payload sizes and packing of frames into GVSP payload bytes."""

from __future__ import annotations

import numpy as np

from openpss.imaging.errors import ImagingError

# Pixel format codes from the EMVA Pixel Format Naming Convention (PFNC) 2.x, as also listed in
# GigE Vision 2.0 (bits 31-24 colour flag, 23-16 bits per pixel, 15-0 id).
MONO8 = 0x01080001  # PFNC Mono8
MONO10 = 0x01100003  # PFNC Mono10 (unpacked, 16 bits per pixel, little-endian)
MONO12 = 0x01100005  # PFNC Mono12 (unpacked, 16 bits per pixel, little-endian)
MONO12_PACKED = 0x010C0006  # GigE Vision 2.0 Mono12Packed (two pixels in three bytes)
MONO16 = 0x01100007  # PFNC Mono16
BAYER_RG8 = 0x01080009  # PFNC BayerRG8
BAYER_RG12 = 0x01100011  # PFNC BayerRG12 (unpacked)
BAYER_RG16 = 0x0110002F  # PFNC BayerRG16
RGB8 = 0x02180014  # PFNC RGB8 (GigE Vision RGB8Packed)
BGR8 = 0x02180015  # PFNC BGR8 (GigE Vision BGR8Packed)

PIXEL_FORMATS: dict[str, int] = {
    "Mono8": MONO8,
    "Mono10": MONO10,
    "Mono12": MONO12,
    "Mono12Packed": MONO12_PACKED,
    "Mono16": MONO16,
    "BayerRG8": BAYER_RG8,
    "BayerRG12": BAYER_RG12,
    "BayerRG16": BAYER_RG16,
    "RGB8": RGB8,
    "BGR8": BGR8,
}
_NAMES = {code: name for name, code in PIXEL_FORMATS.items()}

MONO_FORMATS = frozenset({MONO8, MONO10, MONO12, MONO12_PACKED, MONO16})
BAYER_FORMATS = frozenset({BAYER_RG8, BAYER_RG12, BAYER_RG16})
RGB_FORMATS = frozenset({RGB8, BGR8})

# Significant bits of each format's samples (the container may be wider).
_SAMPLE_BITS = {
    MONO8: 8,
    MONO10: 10,
    MONO12: 12,
    MONO12_PACKED: 12,
    MONO16: 16,
    BAYER_RG8: 8,
    BAYER_RG12: 12,
    BAYER_RG16: 16,
    RGB8: 8,
    BGR8: 8,
}


def pixel_format_name(code: int) -> str:
    """The PFNC name of a pixel format code, e.g. 0x01080001 -> "Mono8"."""
    try:
        return _NAMES[code]
    except KeyError:
        raise ImagingError(f"unsupported pixel format 0x{code:08X}") from None


def pixel_format_code(name: str) -> int:
    """The PFNC code of a pixel format name, e.g. "Mono8" -> 0x01080001."""
    try:
        return PIXEL_FORMATS[name]
    except KeyError:
        known = ", ".join(PIXEL_FORMATS)
        raise ImagingError(f"unsupported pixel format {name!r}; use one of {known}") from None


def bits_per_pixel(code: int) -> int:
    """Bits one pixel occupies in the payload (PFNC code bits 23-16)."""
    pixel_format_name(code)
    return (code >> 16) & 0xFF


def sample_bits(code: int) -> int:
    """Significant bits of each sample (8 for Mono8, 12 for Mono12, 16 for Mono16)."""
    pixel_format_name(code)
    return _SAMPLE_BITS[code]


def sample_dtype(code: int) -> type[np.unsignedinteger]:
    """NumPy dtype of the frame arrays that render_frame returns for this format."""
    return np.uint8 if sample_bits(code) == 8 else np.uint16


def channels(code: int) -> int:
    """Samples per pixel: 3 for RGB8/BGR8, 1 otherwise."""
    return 3 if code in RGB_FORMATS else 1


def payload_size(width: int, height: int, pixel_format: int) -> int:
    """Bytes of one image payload of this size and format (GVSP image payload, no chunks)."""
    if width < 0 or height < 0:
        raise ImagingError(f"image size {width}x{height} must not be negative")
    return (width * height * bits_per_pixel(pixel_format) + 7) // 8


def pack(frame: np.ndarray, pixel_format: int) -> bytes:
    """Payload bytes of a frame as GVSP sends them (16-bit containers little-endian)."""
    expected = 3 if channels(pixel_format) == 3 else 2
    if frame.ndim != expected:
        raise ImagingError(
            f"{pixel_format_name(pixel_format)} needs a {expected}-D frame, got shape {frame.shape}"
        )
    if pixel_format == MONO12_PACKED:
        return _pack_mono12_packed(frame)
    if pixel_format == BGR8:
        frame = frame[..., ::-1]
    dtype = "<u2" if sample_dtype(pixel_format) is np.uint16 else "u1"
    return np.ascontiguousarray(frame, dtype=dtype).tobytes()


def _pack_mono12_packed(frame: np.ndarray) -> bytes:
    """GigE Vision Mono12Packed: p0[11:4], p0[3:0] | p1[3:0] << 4, p1[11:4] per pixel pair."""
    flat = np.ascontiguousarray(frame, dtype=np.uint16).ravel()
    if flat.size % 2:
        flat = np.append(flat, np.uint16(0))
    p0, p1 = flat[0::2], flat[1::2]
    out = np.empty((p0.size, 3), dtype=np.uint8)
    out[:, 0] = p0 >> 4
    out[:, 1] = (p0 & 0xF) | ((p1 & 0xF) << 4)
    out[:, 2] = p1 >> 4
    size = payload_size(frame.shape[1], frame.shape[0], MONO12_PACKED)
    return out.tobytes()[:size]


def unpack(payload: bytes | memoryview, pixel_format: int, width: int, height: int) -> np.ndarray:
    """The frame array of a payload (inverse of pack): (height, width) or (height, width, 3)."""
    size = payload_size(width, height, pixel_format)
    if len(payload) < size:
        raise ImagingError(
            f"{pixel_format_name(pixel_format)} {width}x{height} payload needs {size} bytes, "
            f"got {len(payload)}"
        )
    data = np.frombuffer(payload, dtype=np.uint8, count=size)
    if pixel_format == MONO12_PACKED:
        return _unpack_mono12_packed(data, width, height)
    if sample_dtype(pixel_format) is np.uint16:
        return data.view("<u2").astype(np.uint16, copy=False).reshape(height, width)
    if channels(pixel_format) == 3:
        rgb = data.reshape(height, width, 3)
        return rgb[..., ::-1] if pixel_format == BGR8 else rgb
    return data.reshape(height, width)


def _unpack_mono12_packed(data: np.ndarray, width: int, height: int) -> np.ndarray:
    count = width * height
    triples = np.zeros(((count + 1) // 2) * 3, dtype=np.uint8)
    triples[: data.size] = data
    t = triples.reshape(-1, 3).astype(np.uint16)
    out = np.empty(t.shape[0] * 2, dtype=np.uint16)
    out[0::2] = (t[:, 0] << 4) | (t[:, 1] & 0xF)
    out[1::2] = (t[:, 2] << 4) | (t[:, 1] >> 4)
    return out[:count].reshape(height, width)
