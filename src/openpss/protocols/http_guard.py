"""uvicorn with the shared server defences: every HTTP server we ship runs through this.

uvicorn times out idle keep-alive connections but not a request that arrives slowly: a
client that sends one header byte every few seconds holds its connection (and a file
descriptor) for ever, and 20,000 of them starve every valid request. ``guarded_protocol``
builds an h11 protocol class that adds:

- admission control at accept (``ConnectionLimit``: a global cap and a per-address cap),
  so one address cannot take every slot;
- a deadline for the request head (``header_timeout``) and one for the body
  (``body_timeout``), after which the connection is closed;
- rate-limited logging of refusals (``RateLimitedLog``), and ``install_log_limits`` puts a
  rate limit on uvicorn's and asyncio's own repeated warnings.

``uvicorn_options(limits)`` gives the keyword arguments for ``uvicorn.Config``/``run``;
``RequestSizeLimit`` (ASGI middleware) answers 413 to a request body above a cap.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

import h11
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from openpss.protocols.guards import ConnectionLimit, RateLimitedLog, RateLimitFilter
from openpss.spreadsheets import FileTooLarge, size_text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpLimits:
    """Time-outs and caps of one HTTP server."""

    header_timeout: float = 10.0  # s from connection (or previous response) to a whole head
    body_timeout: float = 60.0  # s from the head to the end of the body
    keep_alive: float = 5.0  # s an idle keep-alive connection is kept
    max_connections: int = 1000
    max_per_peer: int = 64
    max_head_bytes: int = 16 * 1024  # request line + headers (h11 max incomplete event)


def uvicorn_options(limits: HttpLimits) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run`` enforcing ``limits``."""
    install_log_limits()
    return {
        "http": guarded_protocol(limits),
        "timeout_keep_alive": limits.keep_alive,
        "limit_concurrency": limits.max_connections + 1,  # admission below refuses first
        "h11_max_incomplete_event_size": limits.max_head_bytes,
    }


def install_log_limits(interval: float = 10.0) -> None:
    """Rate-limit repeated warnings of uvicorn and asyncio (one per message per interval)."""
    for name in ("uvicorn.error", "asyncio"):
        target = logging.getLogger(name)
        if not any(isinstance(f, RateLimitFilter) for f in target.filters):
            target.addFilter(RateLimitFilter(interval=interval))


def guarded_protocol(limits: HttpLimits) -> type[H11Protocol]:
    """An h11 protocol class with admission control and request deadlines (one per server)."""
    admission = ConnectionLimit(limits.max_connections, per_peer=limits.max_per_peer)
    log = RateLimitedLog(logger)

    class GuardedH11Protocol(H11Protocol):
        _admitted = False
        _peer = ""
        _deadline: asyncio.TimerHandle | None = None
        _phase = ""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            peer = transport.get_extra_info("peername")
            self._peer = str(peer[0]) if peer else ""
            if not admission.acquire(self._peer):
                log.warning("cap", "refused a connection from %s: connection cap", self._peer)
                transport.abort()
                return
            self._admitted = True
            super().connection_made(transport)
            self._arm("head", limits.header_timeout)

        def connection_lost(self, exc: Exception | None) -> None:
            if not self._admitted:
                return
            self._admitted = False
            admission.release(self._peer)
            self._disarm()
            super().connection_lost(exc)

        def handle_websocket_upgrade(self, event: h11.Request) -> None:
            # The WebSocket protocol takes the transport over (and its connection_lost), so
            # the deadline and the admission slot end here.
            self._disarm()
            if self._admitted:
                self._admitted = False
                admission.release(self._peer)
            super().handle_websocket_upgrade(event)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._follow()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm("head", limits.header_timeout)
                self._follow()

        def _follow(self) -> None:
            state = self.conn.their_state
            if state is h11.SEND_BODY and self._phase == "head":
                self._arm("body", limits.body_timeout)
            elif state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
                self._disarm()

        def _arm(self, phase: str, seconds: float) -> None:
            self._disarm()
            self._phase = phase
            self._deadline = self.loop.call_later(seconds, self._too_slow, phase, seconds)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None
            self._phase = ""

        def _too_slow(self, phase: str, seconds: float) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            log.warning(
                f"slow-{phase}",
                "closed a connection from %s: request %s not complete within %g s",
                self._peer,
                phase,
                seconds,
            )
            self.transport.close()

    return GuardedH11Protocol


class RequestSizeLimit:
    """ASGI middleware: 413 for a request body above ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
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
        body = json.dumps({"detail": str(error)}).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
