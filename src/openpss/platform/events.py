"""In-process event bus: what the platform saw, for the MQTT bridge and other listeners.

The device sync publishes after the record it describes is committed (an event never announces
something a rollback took back). Publishing never blocks: each subscriber has a bounded queue
and, when it is full, loses its oldest event (counted in ``dropped``), so a stuck listener
cannot slow the event intake down.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = 10_000  # events a subscriber may fall behind before it loses the oldest


class EventKind(enum.StrEnum):
    """What happened; each kind is one MQTT topic per device."""

    access = "access"  # access granted or refused (person, card, method)
    punch = "punch"  # attendance punch
    alarm = "alarm"  # tamper, door, duress, local alarm input
    door = "door"  # door sensor open / closed
    doorbell = "doorbell"  # call button pressed (ring)
    call = "call"  # call state: ringing, answered, missed, ended
    status = "status"  # device online / offline
    camera = "camera"  # camera event
    snapshot = "snapshot"  # a JPEG taken on a ring (data["jpeg"] is bytes)
    lock = "lock"  # door mode after a command: locked / unlocked / open


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Event:
    """One thing a device did, with the JSON-able fields that describe it."""

    kind: EventKind
    device_id: int
    data: dict[str, Any] = field(default_factory=dict)
    at: dt.datetime = field(default_factory=_now)

    def payload(self) -> dict[str, Any]:
        """The JSON document published for this event (never a password)."""
        body = {k: v for k, v in self.data.items() if k not in ("password", "jpeg")}
        return {"device_id": self.device_id, "time": self.at.isoformat(), **body}


class Subscription:
    """A bounded queue of events for one listener."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self.bus = bus
        self.queue: asyncio.Queue[Event] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, event: Event) -> None:
        """Queue the event, losing the oldest one when full."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            if self.dropped in (1, 100) or self.dropped % 10_000 == 0:
                logger.warning("event listener behind: %d events dropped", self.dropped)
        self.queue.put_nowait(event)

    async def get(self) -> Event:
        """The next event."""
        return await self.queue.get()

    def close(self) -> None:
        """Stop receiving events."""
        self.bus.unsubscribe(self)


class EventBus:
    """Publish / subscribe on the server's event loop."""

    def __init__(self) -> None:
        self.subscriptions: list[Subscription] = []
        self.published: Counter[str] = Counter()
        self.loop: asyncio.AbstractEventLoop | None = None  # set by bind() on the server loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop publish_threadsafe hands events to (the server's)."""
        self.loop = loop

    def publish_threadsafe(self, event: Event) -> None:
        """Publish from another thread (camera threads); dropped while no loop is bound."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.publish, event)

    def subscribe(self, maxsize: int = DEFAULT_QUEUE) -> Subscription:
        """A new listener that receives every event published from now on."""
        subscription = Subscription(self, maxsize)
        self.subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Remove a listener."""
        if subscription in self.subscriptions:
            self.subscriptions.remove(subscription)

    def publish(self, event: Event) -> None:
        """Hand an event to every listener (never blocks)."""
        self.published[event.kind.value] += 1
        for subscription in list(self.subscriptions):
            subscription.offer(event)
