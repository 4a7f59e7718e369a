"""The MQTT bridge's pure parts: command parsing (fuzzed), settings, discovery documents,
door station event mapping, the bounded event bus."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest
from pydantic import ValidationError

from openpss.platform.devices.live import CallTracker, station_events
from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.integrations.commands import CommandError, DoorCommand, parse_command
from openpss.platform.integrations.discovery import DeviceInfo, configs
from openpss.platform.integrations.mqtt import BrokerAddress
from openpss.platform.integrations.service import safe_url
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.events import EventPart


def _settings(**values: Any) -> Settings:
    return Settings(environment="test", secret_key="test-secret-key-0123456789", **values)


def test_lock_and_mode_payloads_become_door_commands() -> None:
    assert parse_command("openpss", "openpss/3/door/1/set", b"OPEN") == DoorCommand(3, 1, "open")
    assert parse_command("openpss", "openpss/3/door/2/set", b"LOCK").action == "CloseAlways"
    assert parse_command("openpss", "openpss/3/door/1/set", b"UNLOCK").action == "Normal"
    mode = parse_command("openpss", "openpss/3/door/1/mode/set", b"always_open")
    assert (mode.action, mode.setting) == ("OpenAlways", "door_mode")
    hang_up = parse_command("openpss", "openpss/3/call/set", b"HANGUP")
    assert (hang_up.action, hang_up.setting) == ("hangup", "hangup")


@pytest.mark.parametrize(
    ("topic", "payload", "message"),
    [
        ("other/3/door/1/set", b"OPEN", "not a command topic"),
        ("openpss/3/door/1/set", b"open sesame", "is not one of OPEN, LOCK, UNLOCK"),
        ("openpss/3/door/1/set", b"\xff\xfe", "not ASCII"),
        ("openpss/3/door/1/set", b"A" * 65, "at most 64"),
        ("openpss/x/door/1/set", b"OPEN", "not a command topic"),
        ("openpss/3/door/1/mode/set", b"OPEN", "always_open, always_closed, normal"),
        ("openpss/3/call/set", b"OPEN", "is not HANGUP"),
    ],
)
def test_malformed_commands_say_why(topic: str, payload: bytes, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command("openpss", topic, payload)


def test_command_parser_survives_garbage() -> None:
    """Fuzz: random topics and payloads never raise anything but CommandError."""
    rng = random.Random(14)
    alphabet = "openpss/door/set/mode0123456789+#$\x00é"
    for _ in range(5000):
        topic = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        payload = rng.randbytes(rng.randint(0, 80))
        with contextlib.suppress(CommandError):
            parse_command("openpss", topic, payload)


def test_mqtt_url_must_be_mqtt_or_mqtts() -> None:
    with pytest.raises(ValidationError, match="mqtt://user:pass@host:1883"):
        _settings(mqtt_url="http://broker:1883")
    settings = _settings(mqtt_url="mqtts://me:p%40ss@broker.example")
    address = BrokerAddress.parse(settings.mqtt_url or "")
    assert (address.host, address.port, address.password, address.tls) == (
        "broker.example",
        8883,
        "p@ss",
        True,
    )
    assert safe_url(settings.mqtt_url) == "mqtts://me@broker.example"
    assert settings.mqtt_commands == ["door_mode", "hangup"]  # unlock is opt-in
    with pytest.raises(ValidationError):
        _settings(mqtt_commands=["reboot"])
    with pytest.raises(ValidationError):
        _settings(mqtt_topic_prefix="open/#")


def test_discovery_of_a_door_station_and_a_terminal() -> None:
    vto = DeviceInfo(7, "Gate", "vto", "VTO4202F", "SN1", "4.5", 2)
    documents = configs(vto, prefix="p", discovery="ha", availability="p/status")
    names = sorted(t.split("/", 1)[1] for t in documents)
    assert names == [
        "binary_sensor/openpss_7/connectivity/config",
        "binary_sensor/openpss_7/door/config",
        "binary_sensor/openpss_7/tamper/config",
        "button/openpss_7/hang_up/config",
        "event/openpss_7/doorbell/config",
        "image/openpss_7/snapshot/config",
        "lock/openpss_7/door_1/config",
        "lock/openpss_7/door_2/config",
        "sensor/openpss_7/last_access/config",
    ]
    lock = documents["ha/lock/openpss_7/door_2/config"]
    assert lock["command_topic"] == "p/7/door/2/set"
    assert lock["device"] == {
        "identifiers": ["openpss_SN1"],
        "name": "Gate",
        "model": "VTO4202F",
        "manufacturer": "Dahua",
        "sw_version": "4.5",
    }
    terminal = DeviceInfo(8, "Clock", "attendance", "ASA1222", "SN2", "1.0", 1)
    assert {
        t.split("/")[1] for t in configs(terminal, prefix="p", discovery="ha", availability="a")
    } == {
        "binary_sensor",
        "sensor",
    }


def test_door_station_codes_become_ring_call_door_and_alarm_events() -> None:
    ring = station_events(5, EventPart("Invite", data={"UserID": "101", "CallID": "c1"}))
    assert [(e.kind, e.data.get("event_type") or e.data.get("state")) for e in ring] == [
        (EventKind.doorbell, "ring"),
        (EventKind.call, "ringing"),
    ]
    [door] = station_events(5, EventPart("DoorStatus", data={"Status": "Open"}))
    assert door.data == {"door": 1, "open": True}
    [tamper] = station_events(5, EventPart("ChassisIntruded", action="Stop", data={}))
    assert (tamper.data["type"], tamper.data["active"]) == ("tamper", False)
    [answered] = station_events(5, EventPart("BackKeyLight", data={"State": 5}))
    assert answered.data == {"state": "answered"}
    assert station_events(5, EventPart("BackKeyLight", data={"State": "x"})) == []


def test_idle_light_ends_a_call_but_not_an_unlock() -> None:
    tracker = CallTracker()
    idle = EventPart("BackKeyLight", data={"State": 0})
    assert tracker.events(5, idle) == []  # after an unlock: no call to end
    tracker.events(5, EventPart("Invite", data={"UserID": "101"}))
    [ended] = tracker.events(5, idle)
    assert ended.data == {"state": "ended"}
    assert tracker.events(5, idle) == []


def test_event_bus_keeps_the_newest_when_a_listener_falls_behind() -> None:
    bus = EventBus()
    slow = bus.subscribe(maxsize=3)
    for seq in range(5):
        bus.publish(Event(EventKind.punch, 1, {"seq": seq, "password": "1234"}))
    assert slow.dropped == 2
    kept = [slow.queue.get_nowait() for _ in range(3)]
    assert [e.data["seq"] for e in kept] == [2, 3, 4]
    assert "password" not in kept[0].payload()  # never published
    slow.close()
    bus.publish(Event(EventKind.punch, 1))
    assert slow.queue.empty() and bus.published["punch"] == 6
