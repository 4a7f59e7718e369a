"""Defences every server we ship shares: rate-limited logging, connection caps, bounded tables.

A server that faces the network (the platform's HTTP, the terminal's CGI, GVCP, SIP, RTSP,
DHIP) must survive garbage, floods and slow clients. The pieces here are the common part:

- ``RateLimitedLog``: one log line per key and interval, with the count of lines suppressed,
  so a flood of bad packets cannot fill the disk with tracebacks.
- ``RateLimitFilter``: the same for loggers we do not own (uvicorn, asyncio).
- ``ConnectionLimit``: at most N connections in all and M per peer address.
- ``BoundedTable``: a dict with a size cap that evicts the oldest *unprotected* entry first,
  so a flood of new keys cannot push out the entries that matter (locked logins, registered
  contacts).
- ``read_until``: read one delimited block from an asyncio stream with a size cap and a
  deadline (slow-header / slowloris defence).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class RateLimitedLog:
    """Log at most one line per key every ``interval`` seconds; count what was suppressed."""

    def __init__(
        self,
        logger: logging.Logger,
        *,
        interval: float = 10.0,
        max_keys: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._interval = interval
        self._clock = clock
        self._last: BoundedTable[str, list[float]] = BoundedTable(max_keys)

    def log(self, level: int, key: str, msg: str, *args: object) -> bool:
        """Emit ``msg % args`` unless ``key`` logged within the interval; True if emitted."""
        now = self._clock()
        entry = self._last.get(key)
        if entry is not None and now - entry[0] < self._interval:
            entry[1] += 1
            return False
        suppressed = int(entry[1]) if entry is not None else 0
        self._last[key] = [now, 0]
        if suppressed:
            msg = f"{msg} (%d similar lines suppressed)"
            args = (*args, suppressed)
        self._logger.log(level, msg, *args)
        return True

    def warning(self, key: str, msg: str, *args: object) -> bool:
        """``log`` at WARNING."""
        return self.log(logging.WARNING, key, msg, *args)

    def info(self, key: str, msg: str, *args: object) -> bool:
        """``log`` at INFO."""
        return self.log(logging.INFO, key, msg, *args)


class RateLimitFilter(logging.Filter):
    """A logging filter: records at WARNING and above pass once per message per interval.

    For loggers we do not own (uvicorn, asyncio): the key is the message template, so a
    flood of "Invalid HTTP request received." from many peers becomes one line per interval
    with the count of the lines dropped.
    """

    def __init__(
        self,
        *,
        interval: float = 10.0,
        max_keys: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._last: BoundedTable[str, list[float]] = BoundedTable(max_keys)

    def filter(self, record: logging.LogRecord) -> bool:
        """True to emit ``record``; repeated warnings within the interval are dropped."""
        if record.levelno < logging.WARNING:
            return True
        key = f"{record.name}:{record.levelno}:{record.msg}"
        now = self._clock()
        entry = self._last.get(key)
        if entry is not None and now - entry[0] < self._interval:
            entry[1] += 1
            return False
        self._last[key] = [now, 0]
        if entry is not None and entry[1]:
            record.msg = f"{record.msg} ({int(entry[1])} similar lines suppressed)"
        return True


class ConnectionLimit:
    """Admission control for stream servers: a global cap and a per-peer cap."""

    def __init__(self, maximum: int, *, per_peer: int | None = None) -> None:
        if maximum < 1:
            raise ValueError("maximum must be at least 1")
        self.maximum = maximum
        self.per_peer = per_peer if per_peer is not None else maximum
        self._by_peer: dict[str, int] = {}
        self._active = 0

    @property
    def active(self) -> int:
        """Connections admitted and not yet released."""
        return self._active

    def acquire(self, peer: str) -> bool:
        """Admit one connection from ``peer``; False when a cap is reached."""
        if self._active >= self.maximum or self._by_peer.get(peer, 0) >= self.per_peer:
            return False
        self._active += 1
        self._by_peer[peer] = self._by_peer.get(peer, 0) + 1
        return True

    def release(self, peer: str) -> None:
        """Release one connection admitted for ``peer``."""
        count = self._by_peer.get(peer, 0)
        if count <= 0:
            return
        self._active -= 1
        if count == 1:
            del self._by_peer[peer]
        else:
            self._by_peer[peer] = count - 1


class BoundedTable(Generic[K, V]):
    """A size-capped mapping; on overflow the oldest entry not ``protect``-ed is evicted.

    When every entry is protected the new key is refused (``KeyError`` from ``__setitem__``
    is avoided: ``put`` returns False), so a flood can never evict what must be kept.
    """

    def __init__(self, capacity: int, *, protect: Callable[[K, V], bool] | None = None) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._protect = protect
        self._items: OrderedDict[K, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        return iter(list(self._items))

    def __getitem__(self, key: K) -> V:
        return self._items[key]

    def __setitem__(self, key: K, value: V) -> None:
        self.put(key, value)

    def __delitem__(self, key: K) -> None:
        del self._items[key]

    def get(self, key: K, default: V | None = None) -> V | None:
        """The value for ``key`` or ``default``."""
        return self._items.get(key, default)

    def pop(self, key: K, default: V | None = None) -> V | None:
        """Remove and return the value for ``key`` (or ``default``)."""
        return self._items.pop(key, default)

    def items(self) -> list[tuple[K, V]]:
        """A snapshot of the entries, oldest first."""
        return list(self._items.items())

    def put(self, key: K, value: V) -> bool:
        """Insert or replace; False (nothing stored) when full of protected entries."""
        if key in self._items:
            self._items[key] = value
            self._items.move_to_end(key)
            return True
        if len(self._items) >= self.capacity and not self._evict_one():
            return False
        self._items[key] = value
        return True

    def _evict_one(self) -> bool:
        for key, value in self._items.items():
            if self._protect is None or not self._protect(key, value):
                del self._items[key]
                return True
        return False


class ReadLimitError(Exception):
    """A stream read broke its size cap or its deadline."""


async def read_until(
    reader: asyncio.StreamReader, separator: bytes, *, limit: int, timeout: float
) -> bytes:
    """Read up to and including ``separator`` within ``timeout`` s and ``limit`` bytes."""
    try:
        async with asyncio.timeout(timeout):
            data = await reader.readuntil(separator)
    except TimeoutError as exc:
        raise ReadLimitError(f"no complete block within {timeout:g} s") from exc
    except asyncio.LimitOverrunError as exc:
        raise ReadLimitError(f"block exceeds the stream buffer ({exc.consumed} bytes)") from exc
    if len(data) > limit:
        raise ReadLimitError(f"block of {len(data)} bytes exceeds the limit of {limit}")
    return data


async def read_exactly(reader: asyncio.StreamReader, size: int, *, timeout: float) -> bytes:
    """Read exactly ``size`` bytes within ``timeout`` s."""
    try:
        async with asyncio.timeout(timeout):
            return await reader.readexactly(size)
    except TimeoutError as exc:
        raise ReadLimitError(f"{size} bytes not received within {timeout:g} s") from exc
