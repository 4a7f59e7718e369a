"""Asyncio DHIP server: login challenge, keep-alive, event streams; a backend does the rest.

The server owns the session rules common to every DHIP device; a ``DhipBackend`` answers the
device's own methods (``magicBox.*``, ``configManager.getConfig``, ``accessControl.*``,
``console.runCmd`` ...). Defences: a connection cap (``ConnectionLimit``), a deadline for the
login and for each frame, a keep-alive deadline after login, a body size cap, bounded
outgoing queues (a client that does not read is dropped) and rate-limited logging of garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from openpss.protocols.dahua_http.digest import realm_for
from openpss.protocols.dahua_http.lockout import LoginLockout
from openpss.protocols.dhip.codec import (
    ERROR_BAD_PASSWORD,
    ERROR_BAD_REQUEST,
    ERROR_BAD_SESSION,
    ERROR_LOCKED,
    ERROR_LOGIN_CHALLENGE,
    ERROR_NO_METHOD,
    HEADER_SIZE,
    MESSAGE_BAD_PASSWORD,
    MESSAGE_BAD_REQUEST,
    MESSAGE_BAD_SESSION,
    MESSAGE_LOCKED,
    MESSAGE_LOGIN_CHALLENGE,
    MESSAGE_NO_METHOD,
    DhipFrame,
    DhipHeader,
    DhipProtocolError,
    decode_body,
    error_message,
    event_entry,
    event_message,
    login_hash,
    result_message,
)
from openpss.protocols.guards import ConnectionLimit, RateLimitedLog, ReadLimitError, read_exactly

logger = logging.getLogger(__name__)
garbage_log = RateLimitedLog(logger)

KEEPALIVE_INTERVAL_S = 60  # announced in the login answer (params.keepAliveInterval)
LOGIN_TIMEOUT_S = 30.0  # ours: a connection must log in within this
FRAME_TIMEOUT_S = 10.0  # ours: the rest of a frame once its header arrived
MAX_CONNECTIONS, MAX_PER_PEER = 32, 8  # ours
OUT_QUEUE = 256  # frames waiting for a slow reader before it is dropped
EVENT_SID = 513  # the SID real units put in eventManager.attach answers


class DhipError(Exception):
    """A method failure answered as ``{"error": {"code", "message"}, "result": false}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class DhipBackend(Protocol):
    """The device behind the server."""

    serial: str

    def ha1_for(self, user: str) -> str | None:
        """HA1 = MD5(user:realm:password) (hex) of a user, or None."""

    def handle(
        self, method: str, params: dict[str, Any], message: dict[str, Any]
    ) -> tuple[Any, dict[str, Any] | None]:
        """(result, params) of a device method; raise ``DhipError`` or ``KeyError``."""


@dataclass(eq=False)
class _Connection:
    peer: str
    writer: asyncio.StreamWriter
    queue: asyncio.Queue[bytes] = field(default_factory=lambda: asyncio.Queue(OUT_QUEUE))
    session: int = 0
    random: str = ""
    user: str = ""
    logged_in: bool = False
    attach_id: int | None = None
    codes: set[str] | None = None
    closed: bool = False

    def send(self, message: dict[str, Any]) -> None:
        """Queue one answer or event; a reader this far behind is dropped."""
        if self.closed:
            return
        try:
            self.queue.put_nowait(bytes(DhipFrame.from_message(message)))
        except asyncio.QueueFull:
            garbage_log.warning("slow:" + self.peer, "DHIP client %s too slow: dropped", self.peer)
            self.closed = True
            self.writer.close()


class DhipServer:
    """Serves DHIP for one backend; ``publish`` sends events to attached connections."""

    def __init__(
        self,
        backend: DhipBackend,
        *,
        lockout: LoginLockout | None = None,
        limit: ConnectionLimit | None = None,
        random_source: Callable[[], str] = lambda: str(secrets.randbelow(10**10)),
    ) -> None:
        self.backend = backend
        self.realm = realm_for(backend.serial)
        self.lockout = lockout or LoginLockout()
        self.limit = limit or ConnectionLimit(MAX_CONNECTIONS, per_peer=MAX_PER_PEER)
        self.random_source = random_source
        self.connections: set[_Connection] = set()
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port."""
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> DhipServer:
        """Listen on (host, port)."""
        self.server = await asyncio.start_server(self._serve, host, port)
        return self

    async def close(self) -> None:
        """Stop listening and drop every connection."""
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections):
            conn.writer.close()
        if self.server is not None:
            with contextlib.suppress(Exception):
                await self.server.wait_closed()

    @property
    def attached(self) -> int:
        """Connections receiving events."""
        return sum(1 for c in self.connections if c.attach_id is not None)

    def publish(self, code: str, action: str, index: int, data: dict[str, Any]) -> None:
        """Send one event to every attached connection (call from the server's loop)."""
        entry = event_entry(code, action, index, data)
        for conn in list(self.connections):
            if conn.attach_id is None or (conn.codes is not None and code not in conn.codes):
                continue
            conn.send(event_message(conn.attach_id, conn.session, EVENT_SID, [entry]))

    # --- connections ---------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("peername")
        peer = str(address[0]) if address else "?"
        if not self.limit.acquire(peer):
            garbage_log.warning("cap:" + peer, "DHIP connection from %s refused: too many", peer)
            writer.close()
            return
        conn = _Connection(peer, writer)
        self.connections.add(conn)
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            await self._read_loop(conn, reader)
        except (ReadLimitError, DhipProtocolError) as exc:
            garbage_log.warning("bad:" + peer, "DHIP connection from %s dropped: %s", peer, exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.connections.discard(conn)
            self.limit.release(peer)
            conn.closed = True
            sender.cancel()
            writer.close()

    async def _read_loop(self, conn: _Connection, reader: asyncio.StreamReader) -> None:
        while not conn.closed:
            timeout = KEEPALIVE_INTERVAL_S * 2.0 if conn.logged_in else LOGIN_TIMEOUT_S
            header = DhipHeader.parse(await read_exactly(reader, HEADER_SIZE, timeout=timeout))
            body = await read_exactly(reader, header.body_length, timeout=FRAME_TIMEOUT_S)
            try:
                message = decode_body(body)
            except DhipProtocolError as exc:
                conn.send(
                    error_message(header.request_id, conn.session, ERROR_BAD_REQUEST, str(exc))
                )
                continue
            answer = self._dispatch(conn, message, header)
            if answer is not None:
                conn.send(answer)

    async def _send_loop(self, conn: _Connection) -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                data = await conn.queue.get()
                conn.writer.write(data)
                await conn.writer.drain()

    # --- dispatch ------------------------------------------------------------------------

    def _dispatch(
        self, conn: _Connection, message: dict[str, Any], header: DhipHeader
    ) -> dict[str, Any] | None:
        request_id = _int(message.get("id"), header.request_id)
        method = message.get("method")
        params = message.get("params") or {}
        if not isinstance(method, str) or not isinstance(params, dict):
            return error_message(request_id, conn.session, ERROR_BAD_REQUEST, MESSAGE_BAD_REQUEST)
        if method == "global.login":
            return self._login(conn, request_id, params)
        session = _int(message.get("session"), header.session)
        if not conn.logged_in or session != conn.session:
            return error_message(request_id, session, ERROR_BAD_SESSION, MESSAGE_BAD_SESSION)
        return self._call(conn, request_id, method, params, message)

    def _call(
        self,
        conn: _Connection,
        request_id: int,
        method: str,
        params: dict[str, Any],
        message: dict[str, Any],
    ) -> dict[str, Any] | None:
        if method == "global.keepAlive":
            timeout = _int(params.get("timeout"), KEEPALIVE_INTERVAL_S)
            return result_message(request_id, conn.session, True, {"timeout": timeout})
        if method == "global.logout":
            conn.logged_in = False
            return result_message(request_id, conn.session)
        if method == "eventManager.attach":
            return self._attach(conn, request_id, params)
        if method == "eventManager.detach":
            conn.attach_id = None
            return result_message(request_id, conn.session)
        try:
            result, out = self.backend.handle(method, params, message)
        except KeyError:
            return error_message(request_id, conn.session, ERROR_NO_METHOD, MESSAGE_NO_METHOD)
        except DhipError as exc:
            return error_message(request_id, conn.session, exc.code, exc.message)
        return result_message(request_id, conn.session, result, out)

    def _attach(self, conn: _Connection, request_id: int, params: dict[str, Any]) -> dict[str, Any]:
        codes = params.get("codes", ["All"])
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            return error_message(
                request_id, conn.session, ERROR_BAD_REQUEST, "codes must be a list of strings"
            )
        conn.codes = None if "All" in codes else set(codes)
        conn.attach_id = request_id
        return result_message(request_id, conn.session, True, {"SID": EVENT_SID})

    def _login(self, conn: _Connection, request_id: int, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("userName", ""))
        password = str(params.get("password", ""))
        if not conn.random or not password:
            conn.session = secrets.randbelow(2**31 - 1) + 1
            conn.random, conn.user, conn.logged_in = self.random_source(), user, False
            return error_message(
                request_id,
                conn.session,
                ERROR_LOGIN_CHALLENGE,
                MESSAGE_LOGIN_CHALLENGE,
                encryption="Default",
                random=conn.random,
                realm=self.realm,
            )
        random, conn.random = conn.random, ""
        if self.lockout.locked_for(user, conn.peer):
            return error_message(request_id, conn.session, ERROR_LOCKED, MESSAGE_LOCKED)
        ha1 = self.backend.ha1_for(user)
        if ha1 is None or login_hash(user, random, ha1) != password.upper():
            locked = self.lockout.failed(user, conn.peer)
            code, text = (
                (ERROR_LOCKED, MESSAGE_LOCKED)
                if locked
                else (ERROR_BAD_PASSWORD, MESSAGE_BAD_PASSWORD)
            )
            return error_message(request_id, conn.session, code, text)
        self.lockout.succeeded(user, conn.peer)
        conn.logged_in, conn.user = True, user
        return result_message(
            request_id, conn.session, True, {"keepAliveInterval": KEEPALIVE_INTERVAL_S}
        )


def _int(value: object, default: int) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int) and value:
        return value
    if isinstance(value, str) and value.isdigit() and int(value):
        return int(value)
    return default
