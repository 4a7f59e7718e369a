"""HTTP helpers shared by the personnel API and console routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, UploadFile, status

from openpss.platform import uploads
from openpss.platform.people.errors import Conflict, NotFound, PeopleError
from openpss.platform.uploads import upload_errors

MAX_UPLOAD = uploads.MAX_UPLOAD
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn personnel domain errors into HTTP errors carrying the message."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except Conflict as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except PeopleError as exc:
        raise HTTPException(422, str(exc)) from None


async def read_upload(upload: UploadFile, limit: int = MAX_UPLOAD) -> bytes:
    """The bytes of an upload (the platform's shared reader), 413 past `limit`."""
    with upload_errors():
        return await uploads.read_upload(upload, max_bytes=limit)
