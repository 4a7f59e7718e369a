"""A small asyncio DHIP client: login (challenge + hash), calls, keep-alive, events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from typing import Any

from openpss.protocols.aio import within
from openpss.protocols.dhip.codec import (
    ERROR_LOGIN_CHALLENGE,
    DhipFrame,
    FrameDecoder,
    password_hash,
)


class DhipClientError(Exception):
    """The device answered with an error (``code``, ``message``)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class DhipClient:
    """One DHIP connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.session = 0
        self.keepalive_interval = 0
        self._ids = itertools.count(1)
        self._decoder = FrameDecoder()
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader_task = asyncio.create_task(self._read_loop())

    @classmethod
    async def connect(cls, host: str, port: int) -> DhipClient:
        """Open a TCP connection."""
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def close(self) -> None:
        """Close the connection."""
        self._reader_task.cancel()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    async def _read_loop(self) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while data := await self.reader.read(65536):
                for frame in self._decoder.feed(data):
                    self._deliver(frame.message())
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("DHIP connection closed"))

    def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("method") == "client.notifyEventStream":
            self.events.put_nowait(message)
            return
        future = self._pending.pop(int(message.get("id", 0)), None)
        if future is not None and not future.done():
            future.set_result(message)

    async def request(
        self, method: str, params: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """Send one request and wait for its answer (the whole answer message)."""
        request_id = next(self._ids)
        message = {
            "id": request_id,
            "method": method,
            "params": params or {},
            "session": self.session,
            **extra,
        }
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.writer.write(bytes(DhipFrame.from_message(message)))
        await self.writer.drain()
        return await within(future, 10)

    async def call(
        self, method: str, params: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        """``request`` that raises ``DhipClientError`` on an error answer."""
        answer = await self.request(method, params, **extra)
        if "error" in answer:
            raise DhipClientError(answer["error"]["code"], answer["error"]["message"])
        return answer

    async def login(self, user: str, password: str) -> dict[str, Any]:
        """The two-step ``global.login``."""
        base = {"clientType": "", "ipAddr": "(null)", "loginType": "Direct", "userName": user}
        first = await self.request("global.login", {**base, "password": ""})
        if first.get("error", {}).get("code") != ERROR_LOGIN_CHALLENGE:
            raise DhipClientError(first.get("error", {}).get("code", 0), "no login challenge")
        self.session = int(first["session"])
        params = first["params"]
        hashed = password_hash(user, password, params["realm"], params["random"])
        second = await self.call(
            "global.login",
            {**base, "password": hashed, "authorityType": "Default", "passwordType": "Default"},
        )
        self.keepalive_interval = int(second["params"]["keepAliveInterval"])
        return second
