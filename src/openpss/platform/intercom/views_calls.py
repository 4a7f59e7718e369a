"""Console pages of calls in the browser, and the console's call WebSocket.

``/intercom/calls``: dial pad, the switches, recent call records with snapshot and video.
``/intercom/calls/{id}``: the video intercom page of a call this user answered.
``/intercom/ws``: signalling, authenticated by the session cookie (role operator and up) and
checked against the page's own origin (no cross-site WebSocket hijacking).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse

from openpss.platform.deps import SESSION_COOKIE, Operator, SessionDep, Viewer
from openpss.platform.errors import DomainError
from openpss.platform.intercom import management
from openpss.platform.intercom.calls import (
    RECORDING_NAME,
    SNAPSHOT_NAME,
    CallError,
    ConsoleCalls,
    call_media_dir,
    media_of,
)
from openpss.platform.records import service as records
from openpss.platform.records.schemas import RecordQuery
from openpss.platform.security.models import Role
from openpss.platform.security.tokens import find_login_session
from openpss.platform.web.templating import render
from openpss.protocols.guards import ConnectionLimit

logger = logging.getLogger(__name__)
router = APIRouter()

LATEST_CALLS = 100  # the Calls page lists the latest 100 calls (platform-video-intercom 3)
MAX_MESSAGE = 64 * 1024  # an SDP offer is a few kB
# open call sockets: a console tab holds one (our caps: consoles on one platform, tabs per user)
SOCKETS = ConnectionLimit(500, per_peer=20)
WS_POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1
WS_TRY_AGAIN = 1013  # IANA WebSocket close code registry: Try Again Later


def _console(request: Request | WebSocket) -> ConsoleCalls | None:
    return getattr(request.app.state, "console_calls", None)


@router.get("/intercom/calls", response_class=HTMLResponse)
def calls_page(request: Request, session: SessionDep, principal: Operator) -> HTMLResponse:
    """Dial pad, switches and the latest call records."""
    request.state.principal = principal
    console = _console(request)
    page = records.search_records(
        session=session, kind="calls", query=RecordQuery(limit=LATEST_CALLS)
    )
    data_dir = request.app.state.settings.data_dir
    recent = [(row, media_of(data_dir, row.id)) for row in page.items]
    context = {
        "ready": console is not None,
        "switches": console.switches(principal.username) if console else None,
        "recent": recent,
    }
    return render(request, "intercom/calls.html", context)


@router.get("/intercom/calls/{call_id}", response_class=HTMLResponse)
def call_page(request: Request, call_id: str, principal: Operator) -> HTMLResponse:
    """The video intercom page of a live call."""
    request.state.principal = principal
    console = _console(request)
    call = console.calls.get(call_id) if console else None
    if call is None or console is None:
        raise HTTPException(404, "this call has ended; see the call records")
    switches = console.switches(principal.username)
    return render(request, "intercom/call.html", {"call": call, "switches": switches})


@router.get("/intercom/records/{record_id}/{name}")
def call_media(request: Request, record_id: int, name: str, principal: Viewer) -> FileResponse:
    """A call record's snapshot or recording."""
    if name not in (SNAPSHOT_NAME, RECORDING_NAME):
        raise HTTPException(404, "a call record has snapshot.jpg and recording.mp4")
    path = call_media_dir(request.app.state.settings.data_dir, record_id) / name
    if not path.is_file():
        raise HTTPException(404, f"call record {record_id} has no {name}")
    media_type = "image/jpeg" if name == SNAPSHOT_NAME else "video/mp4"
    return FileResponse(path, media_type=media_type)


def _ws_user(websocket: WebSocket) -> str | None:
    """The operator behind the session cookie, or None."""
    origin = websocket.headers.get("origin", "")
    if origin and urlsplit(origin).netloc != websocket.headers.get("host", ""):
        return None
    token = websocket.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with websocket.app.state.session_factory() as session:
        row = find_login_session(session=session, token=token)
        if row is None or row.account.role.rank < Role.operator.rank:
            return None
        return str(row.account.username)


@router.websocket("/intercom/ws")
async def calls_socket(websocket: WebSocket) -> None:
    """Call signalling of one console tab."""
    username = _ws_user(websocket)
    console = _console(websocket)
    # accepted before closing, so the page reads the close code (a refused handshake only
    # shows 1006) and does not retry
    await websocket.accept()
    if username is None or console is None:
        await websocket.close(WS_POLICY_VIOLATION, "log in as an operator; the SIP server runs")
        return
    if not SOCKETS.acquire(username):
        await websocket.close(WS_TRY_AGAIN, "too many console tabs: close some and reload")
        return
    try:
        await _serve(websocket, console, username)
    finally:
        SOCKETS.release(username)


async def _serve(websocket: WebSocket, console: ConsoleCalls, username: str) -> None:
    lock = asyncio.Lock()

    async def send(message: dict[str, Any]) -> None:
        async with lock:
            await websocket.send_json(message)

    subscriber = console.subscribe(username, send)
    try:
        while True:
            text = await websocket.receive_text()
            if len(text) > MAX_MESSAGE:
                await send({"type": "error", "message": "message too large"})
                continue
            await _handle(console, username, text, send)
    except WebSocketDisconnect:
        pass
    finally:
        console.unsubscribe(subscriber)


async def _handle(console: ConsoleCalls, username: str, text: str, send: Any) -> None:
    try:
        message = json.loads(text)
        if not isinstance(message, dict):
            raise ValueError("not an object")
        reply = await _dispatch(console, username, message, send)
    except (CallError, DomainError) as exc:  # DomainError: a number the dial page refuses
        reply = {"type": "error", "message": str(exc)}
    except (ValueError, KeyError, TypeError) as exc:
        reply = {"type": "error", "message": f"bad message: {exc}"}
    if reply is not None:
        await send(reply)


async def _dispatch(
    console: ConsoleCalls, username: str, message: dict[str, Any], send: Any
) -> dict[str, Any] | None:
    kind = str(message.get("type", ""))
    call_id = str(message.get("call", ""))
    if kind == "accept":
        call = await console.accept(call_id, username)
        return {"type": "accepted", "call": call.id}
    if kind == "reject":
        console.reject(call_id, username)
        return None
    if kind == "offer":
        answer = await console.connect_browser(call_id, username, str(message["sdp"]))
        return {"type": "answer", "call": call_id, "sdp": answer}
    if kind == "door":
        await console.open_door(call_id, username)
        return {"type": "door", "call": call_id, "opened": True}
    if kind == "hangup":
        await console.hangup(call_id, username)
        return None
    if kind == "switches":
        values = {k: bool(v) for k, v in dict(message["values"]).items()}
        switches = console.set_switches(username, **values)
        return {"type": "switches", "values": switches.__dict__}
    if kind == "stats":
        return {"type": "stats", "call": call_id, "media": console.get(call_id).media.counters}
    if kind == "dial":
        number = await asyncio.to_thread(_dial_number, console, str(message["number"]))
        console.dial_soon(number, username, send)
        return None
    raise CallError(f"unknown message type {kind!r}")


def _dial_number(console: ConsoleCalls, number: str) -> str:
    """The full number to dial (chapter 3: no room numbers; a VTH with its extension)."""
    with console.session_factory() as session:
        return management.check_dial_number(session=session, number=number)
