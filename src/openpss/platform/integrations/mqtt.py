"""The MQTT bridge: platform events out (JSON, QoS 1), door commands in, HA discovery.

A background service of `openpss serve`, off unless OPENPSS_MQTT_URL is set. It keeps one
connection to the broker (aiomqtt), with a retained availability topic ``<prefix>/status``
(``online``, and ``offline`` as the last will) and reconnects with a doubling backoff. Events
queue in the bus subscription while the broker is down (bounded: the oldest are lost beyond
OUTBOX and counted); an event whose QoS 1 publish was not acknowledged is sent again after the
reconnect, so nothing published after a reconnect is lost (at least once, as QoS 1 promises).
Topics: ``<prefix>/<device id>/<kind>`` (kinds: platform/events.py EventKind).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import enum
import json
import logging
import math
import ssl
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomqtt
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import session_scope
from openpss.platform.devices.models import Device
from openpss.platform.events import Event, EventBus, EventKind, Subscription
from openpss.platform.integrations import commands
from openpss.platform.integrations.discovery import DeviceInfo, configs
from openpss.platform.settings import Settings
from openpss.protocols.aio import deliver_lost_cancel, within
from openpss.protocols.guards import RateLimitedLog

logger = logging.getLogger(__name__)

OUTBOX = 10_000  # events kept while the broker is down
KEPT_SENT = 20  # last messages shown on the Integrations page
BACKOFF_MAX = 30.0  # seconds between reconnect attempts at most
PUBLISH_TIMEOUT = 10.0  # seconds to wait for a PUBACK before the connection counts as lost
OFFLINE_TIMEOUT = 2.0  # seconds to announce "offline" when the server stops
# aiomqtt bounds its waits with asyncio.wait_for, which on Python 3.11 can lose a cancel (see
# openpss.protocols.aio); its waits get no bound of their own and ours wrap them instead.
NO_WAIT = math.inf
DISCOVERY_REFRESH = 30.0  # seconds between registry checks (new / removed devices)
# State-like topics are retained so a subscriber that comes later sees the current state.
RETAINED = {EventKind.status, EventKind.door, EventKind.lock, EventKind.snapshot}


class MqttState(enum.StrEnum):
    """The bridge's link to the broker."""

    disabled = "disabled"
    connecting = "connecting"
    connected = "connected"
    down = "down"


@dataclass(frozen=True)
class SentMessage:
    """One published message, for the console."""

    at: dt.datetime
    topic: str
    payload: str


@dataclass(frozen=True)
class BrokerAddress:
    """OPENPSS_MQTT_URL taken apart."""

    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """mqtt://user:pass@host:1883 or mqtts://host:8883."""
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


class MqttBridge:
    """Publishes the bus's events and discovery, runs the commands it receives."""

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], bus: EventBus | None
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.bus = bus
        self.prefix = settings.mqtt_topic_prefix
        self.availability = f"{self.prefix}/status"
        self.subscription: Subscription | None = None
        if bus is not None and settings.mqtt_url:
            self.subscription = bus.subscribe(OUTBOX)
        self.state = MqttState.disabled if not settings.mqtt_url else MqttState.connecting
        self.error = ""
        self.sent: deque[SentMessage] = deque(maxlen=KEPT_SENT)
        self.messages_sent = 0
        self.messages_received = 0
        self.reconnects = 0
        self.discovered: dict[int, dict[str, str]] = {}  # device -> topic -> config
        self.in_flight: Event | None = None
        self.client: aiomqtt.Client | None = None
        self.log = RateLimitedLog(logger)

    @property
    def queued(self) -> int:
        """Events waiting for the broker."""
        waiting = self.subscription.queue.qsize() if self.subscription else 0
        return waiting + (1 if self.in_flight is not None else 0)

    def _set_state(self, state: MqttState, error: str = "") -> None:
        if state != self.state:
            logger.info("MQTT %s -> %s %s", self.state.value, state.value, error)
        self.state, self.error = state, error

    def _client(self) -> aiomqtt.Client:
        assert self.settings.mqtt_url
        address = BrokerAddress.parse(self.settings.mqtt_url)
        will = aiomqtt.Will(self.availability, b"offline", qos=1, retain=True)
        return aiomqtt.Client(
            address.host,
            address.port,
            username=address.username,
            password=address.password,
            identifier=self.settings.mqtt_client_id,
            will=will,
            tls_context=ssl.create_default_context() if address.tls else None,
            timeout=PUBLISH_TIMEOUT,
        )

    async def run(self) -> None:
        """Connect, publish and listen until cancelled; reconnect with backoff."""
        if not self.settings.mqtt_url:
            return
        if self.bus is not None:
            self.bus.bind(asyncio.get_running_loop())
        backoff = 1.0
        while True:
            self._set_state(MqttState.connecting)
            try:
                async with self._client() as client:
                    deliver_lost_cancel()
                    self.client = client
                    self._set_state(MqttState.connected)
                    backoff = 1.0
                    try:
                        await self._on_connect(client)
                        await _first_to_end(
                            self._pump(client), self._listen(client), self._refresh()
                        )
                    except asyncio.CancelledError:  # shutdown: a clean disconnect sends no will
                        await self._say_offline(client)
                        raise
            except aiomqtt.MqttError as exc:
                self._set_state(MqttState.down, str(exc)[:200])
            except Exception as exc:  # a bug or the database: log it, keep the bridge alive
                logger.exception("MQTT bridge failed; reconnecting")
                self._set_state(MqttState.down, f"internal error: {exc}"[:200])
            finally:
                self.client = None
            self.reconnects += 1
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError):  # _bounded: a timeout is an MqttError
            await _bounded(
                client.publish(self.availability, b"offline", qos=1, retain=True, timeout=NO_WAIT),
                OFFLINE_TIMEOUT,
            )

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        await self._send(client, self.availability, b"online", retain=True)
        for pattern in ("+/door/+/set", "+/door/+/mode/set", "+/call/set"):
            subscribe = client.subscribe(f"{self.prefix}/{pattern}", qos=1, timeout=NO_WAIT)
            await _bounded(subscribe, PUBLISH_TIMEOUT)
        self.discovered.clear()
        await self._publish_discovery(client)

    async def _pump(self, client: aiomqtt.Client) -> None:
        """Publish queued events; an unacknowledged one stays in flight for the next link."""
        if self.subscription is None:
            await asyncio.Event().wait()
            return
        while True:
            if self.in_flight is None:
                self.in_flight = await self.subscription.get()
            await self._publish_event(client, self.in_flight)
            self.in_flight = None

    def topic_of(self, event: Event) -> str:
        """``<prefix>/<device id>/<kind>``; a camera (own ids): ``<prefix>/camera_<id>/event``."""
        if event.kind is EventKind.camera:
            return f"{self.prefix}/camera_{event.device_id}/event"
        return f"{self.prefix}/{event.device_id}/{event.kind.value}"

    async def _publish_event(self, client: aiomqtt.Client, event: Event) -> None:
        if event.kind is EventKind.status:  # model and firmware are known once it answered
            await self._publish_discovery(client)
        topic = self.topic_of(event)
        retain = event.kind in RETAINED
        if event.kind is EventKind.snapshot:
            await self._send(client, topic, event.data.get("jpeg", b""), retain=True)
            return
        if event.kind is EventKind.lock:
            door_topic = f"{self.prefix}/{event.device_id}/door/{event.data['door']}/lock"
            await self._send(client, door_topic, str(event.data["state"]).encode(), retain=True)
            return
        await self._send(client, topic, json.dumps(event.payload()).encode(), retain=retain)
        if event.kind is EventKind.alarm and event.data.get("type") == "tamper":
            state = b"ON" if event.data.get("active") else b"OFF"
            await self._send(client, f"{self.prefix}/{event.device_id}/tamper", state, retain=True)

    async def _send(
        self, client: aiomqtt.Client, topic: str, payload: bytes, *, retain: bool = False
    ) -> None:
        publish = client.publish(topic, payload, qos=1, retain=retain, timeout=NO_WAIT)
        await _bounded(publish, PUBLISH_TIMEOUT)
        self.messages_sent += 1
        shown = payload.decode(errors="replace") if len(payload) < 512 else f"<{len(payload)} B>"
        self.sent.append(SentMessage(dt.datetime.now(dt.UTC), topic, shown))

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            self.messages_received += 1
            payload = message.payload if isinstance(message.payload, bytes) else b""
            await self.handle_command(str(message.topic), payload)

    async def handle_command(self, topic: str, payload: bytes) -> bool:
        """Run one command message; False (with a rate-limited log line) when ignored."""
        try:
            command = commands.parse_command(self.prefix, topic, payload)
            event = await commands.execute(
                factory=self.factory, settings=self.settings, command=command
            )
        except commands.CommandError as exc:
            self.log.log(logging.WARNING, topic[:80], "MQTT command on %s ignored: %s", topic, exc)
            return False
        except Exception:  # e.g. the database is briefly unavailable: this command is lost
            logger.exception("MQTT command on %s failed", topic[:80])
            return False
        logger.info("MQTT command on %s: %s", topic, command.action)
        if self.bus is not None and event is not None:
            self.bus.publish(event)
        return True

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(DISCOVERY_REFRESH)
            if self.client is not None:
                await self._publish_discovery(self.client)

    async def _publish_discovery(self, client: aiomqtt.Client) -> None:
        """Retained configs of every device (again when one changed, e.g. its model became
        known); an empty retained payload for the entities and devices that are gone."""
        devices = await asyncio.to_thread(self._devices)
        for info in devices:
            documents = {
                topic: json.dumps(document, sort_keys=True)
                for topic, document in configs(
                    info,
                    prefix=self.prefix,
                    discovery=self.settings.mqtt_discovery_prefix,
                    availability=self.availability,
                ).items()
            }
            known = self.discovered.get(info.id, {})
            for topic in set(known) - set(documents):
                await self._send(client, topic, b"", retain=True)
            for topic, text in documents.items():
                if known.get(topic) != text:
                    await self._send(client, topic, text.encode(), retain=True)
            self.discovered[info.id] = documents
        for device_id in set(self.discovered) - {d.id for d in devices}:
            for topic in self.discovered.pop(device_id):
                await self._send(client, topic, b"", retain=True)

    def _devices(self) -> list[DeviceInfo]:
        with session_scope(self.factory) as session:
            rows = session.scalars(select(Device).order_by(Device.id))
            return [
                DeviceInfo(d.id, d.name, d.kind, d.device_type, d.serial, d.firmware, d.door_count)
                for d in rows
            ]

    async def test_message(self) -> str:
        """Publish a test message on ``<prefix>/test``; the topic, or MqttError when down."""
        if self.client is None:
            raise aiomqtt.MqttError(f"not connected to the broker ({self.state.value})")
        topic = f"{self.prefix}/test"
        body = {"time": dt.datetime.now(dt.UTC).isoformat(), "message": "test from openpss"}
        await self._send(self.client, topic, json.dumps(body).encode())
        return topic

    def close(self) -> None:
        """Stop receiving events."""
        if self.subscription is not None:
            self.subscription.close()


async def _bounded(operation: Coroutine[Any, Any, Any], seconds: float) -> None:
    """An aiomqtt operation with our deadline; a missed one is the connection's loss."""
    try:
        await within(operation, seconds)
    except TimeoutError:
        raise aiomqtt.MqttError(f"no answer from the broker within {seconds:g} s") from None


async def _first_to_end(*coroutines: Coroutine[Any, Any, None]) -> None:
    """Run together; when one ends (or fails) cancel the others and raise its error."""
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def run(app: FastAPI) -> None:
    """Background service entry point (app.BACKGROUND_SERVICES); returns when MQTT is off."""
    bridge: MqttBridge = app.state.mqtt_bridge
    try:
        await bridge.run()
    finally:
        bridge.close()
