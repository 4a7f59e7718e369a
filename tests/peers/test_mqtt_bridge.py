"""The MQTT bridge against a real mosquitto, with the virtual terminal and door station.

Discovery configs retained with the expected entities; a card swipe and a call button press
arrive on their topics; an OPEN command opens the door station's door (remote unlock record,
audit entry from MQTT); a malformed command is ignored with a log line; a broker restart loses
no QoS 1 event.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import SyncService
from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.integrations.mqtt import MqttBridge, MqttState
from openpss.platform.security.models import AuditEntry
from openpss.platform.settings import Settings
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device
from tests.support.mosquitto import Broker, running_broker
from tests.support.polling import eventually_async
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto

pytestmark = pytest.mark.peers
DEADLINE = 30.0  # seconds any expected message may take on a busy machine


def _any(payload: bytes) -> bool:
    return True


@dataclass
class Listener:
    """A test MQTT client that records every message it receives."""

    messages: list[tuple[str, bytes, bool]] = field(default_factory=list)

    async def wait_for(self, topic: str, predicate: Callable[[bytes], bool] = _any) -> bytes:
        """The first payload on `topic` that matches, polled with a bounded deadline."""
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            for got, payload, _ in self.messages:
                if got == topic and predicate(payload):
                    return payload
            await asyncio.sleep(0.05)
        seen = sorted({t for t, _, _ in self.messages})
        raise AssertionError(f"nothing on {topic}; topics seen: {seen}")


@contextlib.asynccontextmanager
async def listening(broker: Broker, *topics: str, **client: object) -> AsyncIterator[Listener]:
    """Subscribe to topics and collect messages in the background."""
    listener = Listener()
    async with aiomqtt.Client("127.0.0.1", broker.port, **client) as mqtt:  # type: ignore[arg-type]
        for topic in topics:
            await mqtt.subscribe(topic, qos=1)

        async def collect() -> None:
            async for message in mqtt.messages:
                payload = message.payload if isinstance(message.payload, bytes) else b""
                listener.messages.append((str(message.topic), payload, message.retain))

        task = asyncio.create_task(collect())
        try:
            yield listener
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with running_broker(tmp_path / "mosquitto") as running:
        yield running


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path / "terminal") as device:
        yield device


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path / "vto") as station:
        station.control("rooms", add=[{"number": "101"}])
        station.control("facade", modules=[{"type": "button1", "keys": ["101"]}, "keyboard"])
        yield station


def _settings(sqlite_url: str, tmp_path: Path, broker: Broker, **extra: Any) -> Settings:
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="test-secret-key-0123456789",
        background_services=False,
        mqtt_url=broker.url,
        mqtt_client_id=f"openpss-test-{broker.port}",
        **extra,
    )


def _add_device(
    factory: sessionmaker[Session], settings: Settings, name: str, url: str, kind: str, pw: str
) -> int:
    port = urlsplit(url).port
    assert port is not None
    with factory() as s:
        device = Device(name=name, host="127.0.0.1", port=port, username="admin", kind=kind)
        device.password_encrypted = encrypt_secret(settings, pw)
        s.add(device)
        s.commit()
        return device.id


@contextlib.asynccontextmanager
async def platform(settings: Settings) -> AsyncIterator[tuple[MqttBridge, SyncService]]:
    """Event bus, device sync and MQTT bridge as `openpss serve` runs them."""
    factory = make_session_factory(make_engine(settings.resolved_database_url))
    bus = EventBus()
    bridge = MqttBridge(settings, factory, bus)
    sync = SyncService(factory, settings, bus=bus, heartbeat=1, feed_attendance=False)
    task = asyncio.create_task(bridge.run())
    try:
        yield bridge, sync
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await sync.close()
        bridge.close()


async def test_discovery_events_and_open_command(
    sqlite_url: str,
    tmp_path: Path,
    broker: Broker,
    terminal: RunningDevice,
    vto: RunningVto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(sqlite_url, tmp_path, broker, mqtt_commands=["unlock", "door_mode"])
    factory = make_session_factory(make_engine(sqlite_url))
    term_id = _add_device(factory, settings, "Terminal", terminal.url, "attendance", ADMIN_PASSWORD)
    vto_id = _add_device(factory, settings, "Door", vto.url, "vto", VTO_PASSWORD)
    async with platform(settings) as (bridge, sync):
        await sync.run_once()  # online check; attaches to both event streams
        await eventually_async(
            lambda: bridge.state is MqttState.connected,
            what="the bridge to connect",
            timeout=DEADLINE,
        )
        async with listening(broker, "openpss/#", "homeassistant/#") as heard:
            # discovery: retained, one HA device per physical device
            # Discovery goes out at connect with what the registry knows, and again once the
            # device answered with its model: wait for that second document.
            doorbell = json.loads(
                await heard.wait_for(
                    f"homeassistant/event/openpss_{vto_id}/doorbell/config",
                    lambda payload: b"VTO4202F-MB5" in payload,
                )
            )
            assert doorbell["device_class"] == "doorbell" and doorbell["event_types"] == ["ring"]
            assert doorbell["device"]["model"] == "VTO4202F-MB5"
            assert doorbell["device"]["identifiers"] == [f"openpss_{vto.station.serial}"]
            lock = json.loads(
                await heard.wait_for(f"homeassistant/lock/openpss_{vto_id}/door_1/config")
            )
            assert lock["command_topic"] == f"openpss/{vto_id}/door/1/set"
            assert (lock["payload_open"], lock["payload_lock"]) == ("OPEN", "LOCK")
            for topic in (
                f"homeassistant/binary_sensor/openpss_{vto_id}/door/config",
                f"homeassistant/binary_sensor/openpss_{vto_id}/tamper/config",
                f"homeassistant/binary_sensor/openpss_{term_id}/connectivity/config",
                f"homeassistant/sensor/openpss_{term_id}/last_access/config",
                f"homeassistant/image/openpss_{vto_id}/snapshot/config",
            ):
                await heard.wait_for(topic)
            retained = {t for t, _, r in heard.messages if r}
            assert f"homeassistant/event/openpss_{vto_id}/doorbell/config" in retained
            assert await heard.wait_for("openpss/status") == b"online"

            # a card swipe on the terminal (card unknown to it: refused)
            terminal.present(card="0A0B0C0D")
            access = json.loads(await heard.wait_for(f"openpss/{term_id}/access"))
            assert (access["card"], access["granted"], access["method"]) == (
                "0A0B0C0D",
                False,
                "card",
            )
            assert "password" not in access

            # a call button press on the door station rings
            vto.control("press", button=2)
            ring = json.loads(await heard.wait_for(f"openpss/{vto_id}/doorbell"))
            assert ring["event_type"] == "ring" and ring["room"] == "101"
            await heard.wait_for(f"openpss/{vto_id}/snapshot", lambda p: p[:2] == b"\xff\xd8")
            vto.control("press", button=2)  # pressing again ends the call
            call = f"openpss/{vto_id}/call"
            await heard.wait_for(call, lambda p: json.loads(p)["state"] == "ended")

            # OPEN opens the door: remote unlock on the unit, audited as coming from MQTT
            before = len(vto.station.records["unlock"])
            async with aiomqtt.Client("127.0.0.1", broker.port) as commander:
                await commander.publish(f"openpss/{vto_id}/door/1/set", b"OPEN", qos=1)
                await eventually_async(
                    lambda: len(vto.station.records["unlock"]) > before,
                    what="the unlock",
                    timeout=DEADLINE,
                )
                assert vto.station.records["unlock"][-1].data["Method"] == 4  # remote
                await heard.wait_for(f"openpss/{vto_id}/door/1/lock", lambda p: p == b"OPEN")
                with factory() as s:
                    audit = s.scalars(select(AuditEntry).where(AuditEntry.actor == "mqtt")).all()
                assert [(a.action, json.loads(a.detail)["source"]) for a in audit] == [
                    ("door.unlock", "MQTT")
                ]

                # malformed and unknown-door commands: ignored with a log line
                with caplog.at_level(logging.WARNING, "openpss.platform.integrations.mqtt"):
                    await commander.publish(f"openpss/{vto_id}/door/1/set", b"\xff{junk", qos=1)
                    await commander.publish(f"openpss/{vto_id}/door/7/set", b"OPEN", qos=1)
                    await eventually_async(
                        lambda: "door 7" in caplog.text,
                        what="the unknown-door log line",
                        timeout=DEADLINE,
                    )
                assert "not ASCII" in caplog.text
                assert len(vto.station.records["unlock"]) == before + 1

            # removing a device removes its discovery configs (empty retained payload)
            with factory() as s:
                s.delete(s.get(Device, term_id))
                s.commit()
            assert bridge.client is not None
            await bridge._publish_discovery(bridge.client)
            await heard.wait_for(
                f"homeassistant/sensor/openpss_{term_id}/last_access/config", lambda p: p == b""
            )


async def test_default_commands_refuse_unlock_and_hang_up_over_dhip(
    sqlite_url: str, tmp_path: Path, broker: Broker, vto: RunningVto
) -> None:
    """OPENPSS_MQTT_COMMANDS default: no unlock over MQTT; door modes and hang up (DHIP)."""
    settings = _settings(sqlite_url, tmp_path, broker, dhip_port=vto.dhip_port)
    factory = make_session_factory(make_engine(sqlite_url))
    vto_id = _add_device(factory, settings, "Door", vto.url, "vto", VTO_PASSWORD)
    bridge = MqttBridge(settings, factory, EventBus())
    assert not await bridge.handle_command(f"openpss/{vto_id}/door/1/set", b"OPEN")
    assert vto.station.records["unlock"] == []
    assert await bridge.handle_command(f"openpss/{vto_id}/door/1/set", b"LOCK")
    assert vto.station.settings.access.mode.value == "CloseAlways"
    assert await bridge.handle_command(f"openpss/{vto_id}/door/1/mode/set", b"normal")
    assert vto.station.settings.access.mode.value == "Normal"
    vto.control("press", button=2)
    assert vto.station.call_state.value != "idle"
    assert await bridge.handle_command(f"openpss/{vto_id}/call/set", b"HANGUP")
    await eventually_async(
        lambda: vto.station.call_state.value == "idle", what="the call to end", timeout=DEADLINE
    )
    with factory() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.actor == "mqtt")).all()
    assert actions == ["door.mode", "door.mode", "call.hangup"]


async def test_broker_restart_loses_no_qos1_event(sqlite_url: str, tmp_path: Path) -> None:
    """Events published while the broker is down, and after it is back, all arrive."""
    with running_broker(tmp_path / "mosquitto", persistence=True) as broker:
        settings = _settings(sqlite_url, tmp_path, broker)
        factory = make_session_factory(make_engine(sqlite_url))
        bus = EventBus()
        bridge = MqttBridge(settings, factory, bus)
        task = asyncio.create_task(bridge.run())
        session = {"identifier": "restart-listener", "clean_session": False}
        try:
            async with listening(broker, "openpss/+/punch", **session) as heard:
                bus.publish(Event(EventKind.punch, 1, {"seq": 0}))
                await heard.wait_for("openpss/1/punch")
            broker.stop()  # the listener's session (and its subscription) is saved
            await eventually_async(
                lambda: bridge.state is MqttState.down,
                what="the bridge to see the outage",
                timeout=DEADLINE,
            )
            for seq in range(1, 6):
                bus.publish(Event(EventKind.punch, 1, {"seq": seq}))
            broker.start()
            await eventually_async(
                lambda: bridge.state is MqttState.connected, what="the reconnect", timeout=DEADLINE
            )
            for seq in range(6, 11):
                bus.publish(Event(EventKind.punch, 1, {"seq": seq}))
            async with listening(broker, "openpss/+/punch", **session) as heard:
                await eventually_async(
                    lambda: (
                        {json.loads(p)["seq"] for _, p, _ in heard.messages} >= set(range(1, 11))
                    ),
                    what="every event published during and after the outage",
                    timeout=DEADLINE,
                )
            assert bridge.reconnects >= 1
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_camera_events_reach_their_topic(
    sqlite_url: str, tmp_path: Path, broker: Broker
) -> None:
    """A camera's event-log lines (its own thread) are published on <prefix>/camera_<id>/event."""
    from openpss.platform.vision.deps import _camera_event
    from openpss.platform.vision.live import CameraSessions
    from tests.integration.vision_support import virtual_camera

    settings = _settings(sqlite_url, tmp_path, broker)
    factory = make_session_factory(make_engine(sqlite_url))
    bus = EventBus()
    bridge = MqttBridge(settings, factory, bus)
    task = asyncio.create_task(bridge.run())
    sessions = CameraSessions(on_event=functools.partial(_camera_event, bus))
    try:
        await eventually_async(
            lambda: bridge.state is MqttState.connected,
            what="the bridge to connect",
            timeout=DEADLINE,
        )
        async with listening(broker, "openpss/camera_4/event") as heard:
            with virtual_camera(tmp_path / "camera") as camera:
                await asyncio.to_thread(sessions.open, 4, "127.0.0.1", camera.port)
                payload = await heard.wait_for("openpss/camera_4/event")
                await asyncio.to_thread(sessions.close_all)
        event = json.loads(payload)
        assert event["event"] == "connect" and "127.0.0.1" in event["text"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # a server that stops says so (a clean disconnect does not trigger the last will)
    async with listening(broker, "openpss/status") as heard:
        assert await heard.wait_for("openpss/status") == b"offline"


async def test_command_flood_of_garbage_is_logged_at_a_limited_rate(
    sqlite_url: str,
    tmp_path: Path,
    broker: Broker,
    vto: RunningVto,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """300 malformed commands: ignored, a few log lines, the bridge still obeys a good one."""
    settings = _settings(sqlite_url, tmp_path, broker)
    factory = make_session_factory(make_engine(sqlite_url))
    vto_id = _add_device(factory, settings, "Door", vto.url, "vto", VTO_PASSWORD)
    bridge = MqttBridge(settings, factory, EventBus())
    task = asyncio.create_task(bridge.run())
    rng = random.Random(14)
    try:
        await eventually_async(
            lambda: bridge.state is MqttState.connected,
            what="the bridge to connect",
            timeout=DEADLINE,
        )
        with caplog.at_level(logging.WARNING, "openpss.platform.integrations.mqtt"):
            async with aiomqtt.Client("127.0.0.1", broker.port) as attacker:
                for _ in range(300):
                    garbage = rng.randbytes(rng.randint(0, 200))
                    await attacker.publish(f"openpss/{vto_id}/door/1/set", garbage, qos=1)
                await attacker.publish(f"openpss/{vto_id}/door/1/set", b"LOCK", qos=1)
                await eventually_async(
                    lambda: vto.station.settings.access.mode.value == "CloseAlways",
                    what="the good command after the flood",
                    timeout=DEADLINE,
                )
        ignored = [r for r in caplog.records if "ignored" in r.getMessage()]
        assert 1 <= len(ignored) <= 5  # one line per topic per 10 s, the rest counted
        assert bridge.state is MqttState.connected
        assert vto.station.records["unlock"] == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
