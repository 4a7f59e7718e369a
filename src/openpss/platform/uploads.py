"""Uploads on the platform: one size cap, imports run off the event loop, one error shape.

Every upload route reads its file with ``read_upload`` (chunked, refused past the cap) and
every import runs its parser through ``run_import`` (the threadpool), so a hostile file
never blocks other requests. The xlsx parsing itself is ``openpss.spreadsheets.read_rows``.
``RequestSizeLimit`` refuses any request body above the cap before Starlette spools it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi import HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from openpss.protocols.http_guard import RequestSizeLimit
from openpss.spreadsheets import SpreadsheetError, check_size

MAX_UPLOAD = 20 * 1024 * 1024
# Multipart framing and the other form fields around a file of MAX_UPLOAD bytes.
MAX_REQUEST = MAX_UPLOAD + 1024 * 1024
CHUNK = 1024 * 1024

T = TypeVar("T")

__all__ = [
    "MAX_REQUEST",
    "MAX_UPLOAD",
    "RequestSizeLimit",
    "read_upload",
    "run_import",
    "upload_errors",
]


async def read_upload(upload: UploadFile, *, max_bytes: int = MAX_UPLOAD) -> bytes:
    """The bytes of an upload, read in chunks; ``FileTooLarge`` past ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        check_size(size, max_bytes=max_bytes, name=upload.filename or "the upload")
        chunks.append(chunk)
    return b"".join(chunks)


async def run_import(
    upload: UploadFile, importer: Callable[[bytes], T], *, max_bytes: int = MAX_UPLOAD
) -> T:
    """Read ``upload`` (size-capped) and run ``importer(data)`` in the threadpool."""
    data = await read_upload(upload, max_bytes=max_bytes)
    return await run_in_threadpool(importer, data)


@contextmanager
def upload_errors() -> Iterator[None]:
    """API routes: a refused file becomes 413 (too large) or 422 with its message."""
    try:
        yield
    except SpreadsheetError as exc:
        raise HTTPException(exc.status, str(exc)) from None
