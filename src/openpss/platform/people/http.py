"""HTTP helpers shared by the personnel API and console routes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import HTTPException, UploadFile, status

from openpss.platform.people.errors import Conflict, NotFound, PeopleError

MAX_UPLOAD = 20 * 1024 * 1024
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
    """The bytes of an upload, refusing more than `limit`."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, f"the upload is larger than {limit // (1024 * 1024)} MB")
    return data
