"""HTTP helpers shared by the personnel API and console routes."""

from __future__ import annotations

from fastapi import UploadFile

from openpss.platform.errors import TooLarge

MAX_UPLOAD = 20 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def read_upload(upload: UploadFile, limit: int = MAX_UPLOAD) -> bytes:
    """The bytes of an upload, refusing more than `limit`."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"the upload is larger than {limit // (1024 * 1024)} MB")
    return data
