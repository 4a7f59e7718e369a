"""Server side of the Dahua CGI API: an ASGI (Starlette) app with digest auth and CGI dispatch.

A device registers one handler per CGI name (``magicBox``, ``configManager``...); the server
answers ``/cgi-bin/<name>.cgi``, checks HTTP digest auth (``realm="Login to <serial>"``,
qop=auth) and turns ``CgiError`` into ``Error`` bodies with HTTP 400. ``EventHub`` fans events
out to every ``eventManager.cgi?action=attach`` stream. ``ServerThread`` runs the app under
uvicorn in a background thread (tests, demos).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from openpss.protocols.aio import within
from openpss.protocols.dahua_http.codec import (
    OK_BODY,
    ConfigValue,
    DahuaProtocolError,
    ErrorBody,
    encode_kv,
)
from openpss.protocols.dahua_http.digest import (
    DigestCredentials,
    NonceBook,
    NonceStatus,
    build_challenge,
    realm_for,
)
from openpss.protocols.dahua_http.events import CONTENT_TYPE, EventPart
from openpss.protocols.dahua_http.lockout import LoginLockout
from openpss.protocols.http_guard import HttpLimits, RequestSizeLimit, uvicorn_options

logger = logging.getLogger(__name__)

MAX_HEARTBEAT_S = 60  # Dahua HTTP API: heartbeat range is [1, 60] seconds


class CgiError(Exception):
    """A request the device refuses: answered as an ``Error`` body (HTTP 400 by default)."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass
class CgiRequest:
    """One decoded CGI call: name, action and the query parameters."""

    request: Request
    cgi: str
    action: str
    params: dict[str, str]

    def require(self, key: str) -> str:
        """A mandatory parameter, or a CgiError naming it."""
        value = self.params.get(key)
        if value is None or value == "":
            raise CgiError(f"Missing parameter {key}")
        return value

    async def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (POST), or a CgiError."""
        raw = await self.request.body()
        try:
            value = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CgiError(f"Body is not valid JSON: {exc}") from exc
        except RecursionError as exc:  # the decoder recurses once per nesting level
            raise CgiError("Body is not valid JSON: nested too deeply") from exc
        if not isinstance(value, dict):
            raise CgiError("Body must be a JSON object")
        return value


CgiHandler = Callable[[CgiRequest], Awaitable[Response]]


def ok_response() -> Response:
    """The bare ``OK`` answer of a successful write."""
    return PlainTextResponse(OK_BODY)


def kv_response(items: Mapping[str, ConfigValue] | Sequence[tuple[str, ConfigValue]]) -> Response:
    """A CRLF ``key=value`` answer."""
    return PlainTextResponse(encode_kv(items))


def text_response(text: str) -> Response:
    """A plain text answer (already encoded key=value lines)."""
    return PlainTextResponse(text)


def json_response(value: object) -> Response:
    """A JSON answer (AccessUser-style endpoints)."""
    return Response(json.dumps(value, ensure_ascii=False), media_type="application/json")


def error_response(reason: str, status: int = 400) -> Response:
    """An ``Error`` body."""
    return PlainTextResponse(str(ErrorBody(reason)), status_code=status)


class EventHub:
    """Fans events out to every attached stream (bounded queues; slow readers drop events)."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[EventPart]] = set()
        self._queue_size = queue_size

    @property
    def subscribers(self) -> int:
        """How many streams are attached."""
        return len(self._queues)

    def publish(self, event: EventPart) -> None:
        """Send an event to every attached stream (call from the server's event loop)."""
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(event)

    @contextlib.contextmanager
    def subscribe(self) -> Any:
        """A queue receiving events while the context is open."""
        queue: asyncio.Queue[EventPart] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)


def parse_codes(text: str) -> set[str] | None:
    """``[All]`` -> None (everything); ``[A,B]`` -> {"A", "B"}."""
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise CgiError("codes must be written as [Code1,Code2] or [All]")
    codes = {code.strip() for code in inner[1:-1].split(",") if code.strip()}
    if not codes:
        raise CgiError("codes is empty")
    return None if "All" in codes else codes


def event_stream_response(hub: EventHub, params: Mapping[str, str]) -> Response:
    """The ``eventManager.cgi?action=attach`` answer: a never-ending multipart stream."""
    codes = parse_codes(params.get("codes", ""))
    heartbeat = _heartbeat_seconds(params.get("heartbeat"))

    async def parts() -> AsyncIterator[bytes]:
        with hub.subscribe() as queue:
            while True:
                try:
                    event = await within(queue.get(), heartbeat)
                except TimeoutError:
                    yield bytes(EventPart(code="Heartbeat"))
                    continue
                if codes is None or event.code in codes:
                    yield bytes(event)

    return StreamingResponse(parts(), media_type=CONTENT_TYPE)


def _heartbeat_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError as exc:
        raise CgiError("heartbeat must be an integer number of seconds") from exc
    if not 1 <= value <= MAX_HEARTBEAT_S:
        raise CgiError(f"heartbeat must be 1-{MAX_HEARTBEAT_S} seconds")
    return float(value)


class DigestGuard:
    """Checks digest auth for a device: ``ha1_for(user)`` gives the user's stored HA1.

    ``ha1_for`` returning None for every user means the device is not initialized yet. Wrong
    passwords count towards the account lock (``lockout``); a reused nonce count is refused
    as a replay; an expired or unknown nonce with a correct hash gets ``stale=TRUE``.
    """

    def __init__(
        self,
        serial: str,
        ha1_for: Callable[[str], str | None],
        not_ready: Callable[[], str | None] = lambda: None,
        *,
        lockout: LoginLockout | None = None,
        nonces: NonceBook | None = None,
    ) -> None:
        self.realm = realm_for(serial)
        self._ha1_for = ha1_for
        self._not_ready = not_ready
        self.nonces = nonces or NonceBook()
        self.lockout = lockout or LoginLockout()

    def challenge(self, *, stale: bool = False, reason: str = "Unauthorized") -> Response:
        """A 401 answer with a fresh nonce."""
        header = build_challenge(self.realm, self.nonces.issue(), self.nonces.opaque, stale=stale)
        return PlainTextResponse(
            str(ErrorBody(reason)), status_code=401, headers={"WWW-Authenticate": header}
        )

    def check(self, request: Request) -> Response | None:
        """None when the request carries valid credentials, else the 401 answer."""
        reason = self._not_ready()
        if reason is not None:
            return self.challenge(reason=reason)
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("digest "):
            return self.challenge()
        try:
            credentials = DigestCredentials.parse(header)
        except DahuaProtocolError as exc:
            return self.challenge(reason=str(exc))
        address = request.client.host if request.client else ""
        locked = self.lockout.locked_for(credentials.username, address)
        if locked:
            return self.challenge(reason=locked_reason(locked))
        if not self._hash_is_right(credentials, request):
            started = self.lockout.failed(credentials.username, address)
            return self.challenge(reason=locked_reason(started) if started else INVALID_AUTHORITY)
        status = self.nonces.use(credentials.nonce, credentials.nc)
        if status is NonceStatus.stale:
            return self.challenge(stale=True, reason="Nonce expired: authenticate again")
        if status is NonceStatus.replay:
            logger.warning("refused a replayed digest nonce count from %s", address)
            return self.challenge(reason="Nonce count already used: request refused as a replay")
        self.lockout.succeeded(credentials.username, address)
        request.state.username = credentials.username
        return None

    def _hash_is_right(self, credentials: DigestCredentials, request: Request) -> bool:
        ha1 = self._ha1_for(credentials.username)
        # RFC 7616 §3.4.6: the uri names the whole request-target, query included; a hash
        # for ?action=getConfig must not authorize ?action=setConfig.
        if ha1 is None or credentials.realm != self.realm:
            return False
        if not uri_matches_target(credentials.uri, request_target(request)):
            return False
        return credentials.matches(ha1=ha1, method=request.method)


def request_target(request: Request) -> str:
    """The request-target as sent on the request line: raw path plus ``?query`` if any."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def uri_matches_target(uri: str, target: str) -> bool:
    """True when a digest ``uri`` (origin or absolute form) names exactly ``target``.

    Path and query are compared decoded, parameter by parameter: clients differ in what they
    percent-encode (aiodahua signs ``codes=[All]`` and sends ``codes=%5BAll%5D``), but no two
    different requests decode to the same path and parameter list.
    """
    return _decoded(uri) == _decoded(target)


def _decoded(uri: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(uri)
    return unquote(parts.path), parse_qsl(parts.query, keep_blank_values=True)


INVALID_AUTHORITY = "Invalid Authority!"
# Largest request body: an insertMulti of 100 users with 3 fingerprint templates of 4 KB each
# is about 1.7 MB of JSON.
MAX_DEVICE_BODY = 4 * 1024 * 1024
# A device serves a few clients (the platform, a web page, an app): small caps, short time-outs.
DEVICE_LIMITS = HttpLimits(
    header_timeout=10.0, body_timeout=30.0, max_connections=256, max_per_peer=32
)


def locked_reason(seconds: float) -> str:
    """The ``Error`` reason while an account or address is locked."""
    return f"User locked: too many failed logins, try again in {math.ceil(seconds)} s"


def build_cgi_app(
    guard: DigestGuard,
    handlers: Mapping[str, CgiHandler],
    extra_routes: Sequence[BaseRoute] | None = None,
    lifespan: Any = None,
) -> Starlette:
    """A Starlette app answering ``/cgi-bin/<name>.cgi`` through ``handlers[name]``."""

    async def dispatch(request: Request) -> Response:
        denied = guard.check(request)
        if denied is not None:
            return denied
        name = request.path_params["name"]
        handler = handlers.get(name)
        if handler is None:
            return error_response("Bad Request!")
        params = dict(request.query_params)
        call = CgiRequest(request, name, params.get("action", ""), params)
        try:
            return await handler(call)
        except CgiError as exc:
            return error_response(exc.reason, exc.status)
        except ValueError as exc:  # includes DahuaProtocolError: a malformed request, not a crash
            logger.debug("refused %s.cgi?action=%s: %s", name, call.action, exc)
            return error_response(str(exc))
        except (OverflowError, RecursionError) as exc:  # a number or nesting beyond any limit
            logger.debug("refused %s.cgi?action=%s: %s", name, call.action, exc)
            return error_response(f"a value in the request is out of range: {exc}")

    routes: list[BaseRoute] = [
        Route("/cgi-bin/{name}.cgi", dispatch, methods=["GET", "POST", "PUT"]),
        *(extra_routes or []),
    ]
    size_cap = Middleware(RequestSizeLimit, max_bytes=MAX_DEVICE_BODY)
    return Starlette(routes=routes, lifespan=lifespan, middleware=[size_cap])


class ServerThread:
    """Runs an ASGI app under uvicorn in a background thread until ``stop()``."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, limits: HttpLimits = DEVICE_LIMITS
    ) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="on", **uvicorn_options(limits)
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def port(self) -> int:
        """The bound port (after start)."""
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start and wait until the socket listens."""
        self._thread.start()
        for _ in range(int(timeout / 0.02)):
            if self.server.started:
                return self
            if not self._thread.is_alive():
                break
            threading.Event().wait(0.02)
        raise RuntimeError("HTTP server did not start")

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self.server.should_exit = True
        self._thread.join(timeout=2)
        if self._thread.is_alive():  # open event streams keep a graceful shutdown waiting
            self.server.force_exit = True
            self._thread.join(timeout=10)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
