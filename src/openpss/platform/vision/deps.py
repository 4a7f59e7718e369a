"""Dependencies of the vision routes: the app's camera connections and error mapping."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Annotated, Any

from fastapi import Depends, Request

from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.vision.live import CameraSessions

_lock = threading.Lock()


def get_sessions(request: Request) -> CameraSessions:
    """The CameraSessions of this app (created on first use)."""
    state = request.app.state
    with _lock:
        if getattr(state, "vision_sessions", None) is None:
            bus: EventBus | None = getattr(state, "event_bus", None)
            on_event = functools.partial(_camera_event, bus) if bus is not None else None
            state.vision_sessions = CameraSessions(on_event=on_event)
    sessions: CameraSessions = state.vision_sessions
    return sessions


def _camera_event(bus: EventBus, camera_id: int, kind: str, text: str) -> None:
    """A camera event-log line onto the platform's event bus (MQTT: camera events)."""
    bus.publish_threadsafe(Event(EventKind.camera, camera_id, {"event": kind, "text": text}))


SessionsDep = Annotated[CameraSessions, Depends(get_sessions)]


async def close_cameras_on_shutdown(app: Any) -> None:
    """Background service: wait for shutdown, then release every connected camera."""
    try:
        await asyncio.Event().wait()
    finally:
        sessions: CameraSessions | None = getattr(app.state, "vision_sessions", None)
        if sessions is not None:
            await asyncio.to_thread(sessions.close_all)
