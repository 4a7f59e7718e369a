"""Dependencies of the vision routes: the app's camera connections and error mapping."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

from fastapi import Depends, Request

from openpss.platform.vision.live import CameraSessions

_lock = threading.Lock()


def get_sessions(request: Request) -> CameraSessions:
    """The CameraSessions of this app (created on first use)."""
    state = request.app.state
    with _lock:
        if getattr(state, "vision_sessions", None) is None:
            state.vision_sessions = CameraSessions()
    sessions: CameraSessions = state.vision_sessions
    return sessions


SessionsDep = Annotated[CameraSessions, Depends(get_sessions)]


async def close_cameras_on_shutdown(app: Any) -> None:
    """Background service: wait for shutdown, then release every connected camera."""
    try:
        await asyncio.Event().wait()
    finally:
        sessions: CameraSessions | None = getattr(app.state, "vision_sessions", None)
        if sessions is not None:
            await asyncio.to_thread(sessions.close_all)
