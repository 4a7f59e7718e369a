"""HTTP helpers shared by the personnel API and console routes."""

from __future__ import annotations

from fastapi import UploadFile

from openpss.platform import uploads
from openpss.platform.uploads import upload_errors

MAX_UPLOAD = uploads.MAX_UPLOAD
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def read_upload(upload: UploadFile, limit: int = MAX_UPLOAD) -> bytes:
    """The bytes of an upload (the platform's shared reader), 413 past `limit`."""
    with upload_errors():
        return await uploads.read_upload(upload, max_bytes=limit)
