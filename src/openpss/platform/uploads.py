"""Uploads on the platform: one size cap, imports run off the event loop, one error shape.

Every upload route reads its file with ``read_upload`` (chunked, refused past the cap) and
every import runs its parser through ``run_import`` (the threadpool), so a hostile file
never blocks other requests. The xlsx parsing itself is ``openpss.spreadsheets.read_rows``.
``RequestSizeLimit`` refuses any request body above the cap before Starlette spools it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi import HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openpss.spreadsheets import FileTooLarge, SpreadsheetError, check_size, size_text

MAX_UPLOAD = 20 * 1024 * 1024
# Multipart framing and the other form fields around a file of MAX_UPLOAD bytes.
MAX_REQUEST = MAX_UPLOAD + 1024 * 1024
CHUNK = 1024 * 1024

T = TypeVar("T")


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


class RequestSizeLimit:
    """ASGI middleware: 413 for a request body above ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_REQUEST) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse early on Content-Length; count a streamed body and answer 413 past the cap."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        state = {"received": 0, "over": False, "started": False}

        async def limited_receive() -> Message:
            message = await receive()
            state["received"] += len(message.get("body", b""))
            if state["received"] > self.max_bytes:
                state["over"] = True
                return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["over"]:
                return  # the app's answer to a cut body; ours is sent below
            state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not state["over"]:
                raise  # a cut body may surface as any parsing error; only ours is expected
        if state["over"] and not state["started"]:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = FileTooLarge(f"the request body is larger than {size_text(self.max_bytes)}")
        # The one error shape of the API (openpss.platform.web.errors.ErrorBody).
        shape: dict[str, object] = {
            "detail": str(error),
            "code": "too_large",
            "errors": [],
            "needed_role": None,
        }
        body = json.dumps(shape).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
