"""Home Assistant MQTT discovery documents for the devices of the registry.

One HA device per physical device (identifiers, model, manufacturer, sw_version), with: a
connectivity binary_sensor and a last-access sensor for every device; per door a lock
(OPEN = momentary unlock, LOCK = always closed, UNLOCK = restore) and a door binary_sensor, a
tamper binary_sensor; for a door station (VTO) an ``event`` entity (device_class doorbell,
event type ``ring``), a hang-up ``button`` and an ``image`` entity with the snapshot taken on a
ring.
Home Assistant docs "MQTT Discovery": ``<discovery_prefix>/<component>/<node_id>/<object_id>/
config``, retained; an empty retained payload removes the entity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DOOR_KINDS = ("access", "vto")
MANUFACTURER = "Dahua"  # the protocol family every registry device speaks


@dataclass(frozen=True)
class DeviceInfo:
    """What discovery needs of a registry entry."""

    id: int
    name: str
    kind: str
    model: str
    serial: str
    firmware: str
    doors: int

    @property
    def is_station(self) -> bool:
        """A door station: registered as vto, or identifying itself as VTO...."""
        return self.kind == "vto" or self.model.upper().startswith("VTO")


def _ha_device(info: DeviceInfo) -> dict[str, Any]:
    return {
        "identifiers": [f"openpss_{info.serial or info.id}"],
        "name": info.name,
        "model": info.model or info.kind,
        "manufacturer": MANUFACTURER,
        "sw_version": info.firmware,
    }


def configs(
    info: DeviceInfo, *, prefix: str, discovery: str, availability: str
) -> dict[str, dict[str, Any]]:
    """Discovery topic -> config document for every entity of the device."""
    base = f"{prefix}/{info.id}"
    node = f"openpss_{info.id}"
    common = {
        "device": _ha_device(info),
        "availability_topic": availability,
        "origin": {"name": "openpss"},
    }
    entities: dict[tuple[str, str], dict[str, Any]] = {
        ("binary_sensor", "connectivity"): {
            "name": "Connectivity",
            "device_class": "connectivity",
            "entity_category": "diagnostic",
            "state_topic": f"{base}/status",
            "value_template": "{{ 'ON' if value_json.online else 'OFF' }}",
        },
        ("sensor", "last_access"): {
            "name": "Last access",
            "icon": "mdi:card-account-details",
            "state_topic": f"{base}/access",
            "value_template": "{{ value_json.person or value_json.card or value_json.user_id }}",
            "json_attributes_topic": f"{base}/access",
        },
    }
    if info.kind in DOOR_KINDS or info.is_station:
        entities.update(_door_entities(info, base))
    if info.is_station:
        entities[("event", "doorbell")] = {
            "name": "Doorbell",
            "device_class": "doorbell",
            "event_types": ["ring"],
            "state_topic": f"{base}/doorbell",
        }
        entities[("button", "hang_up")] = {
            "name": "Hang up",
            "icon": "mdi:phone-hangup",
            "command_topic": f"{base}/call/set",
            "payload_press": "HANGUP",
        }
        entities[("image", "snapshot")] = {
            "name": "Snapshot",
            "image_topic": f"{base}/snapshot",
            "content_type": "image/jpeg",
        }
    return {
        f"{discovery}/{component}/{node}/{object_id}/config": {
            **common,
            **body,
            "unique_id": f"{node}_{object_id}",
            "object_id": f"{node}_{object_id}",
        }
        for (component, object_id), body in entities.items()
    }


def _door_entities(info: DeviceInfo, base: str) -> dict[tuple[str, str], dict[str, Any]]:
    entities: dict[tuple[str, str], dict[str, Any]] = {
        ("binary_sensor", "door"): {
            "name": "Door",
            "device_class": "door",
            "state_topic": f"{base}/door",
            "value_template": "{{ 'ON' if value_json.open else 'OFF' }}",
        },
        ("binary_sensor", "tamper"): {
            "name": "Tamper",
            "device_class": "tamper",
            "state_topic": f"{base}/tamper",
        },
    }
    for door in range(1, info.doors + 1):
        entities[("lock", f"door_{door}")] = {
            "name": f"Door {door}",
            "command_topic": f"{base}/door/{door}/set",
            "state_topic": f"{base}/door/{door}/lock",
            "payload_open": "OPEN",
            "payload_lock": "LOCK",
            "payload_unlock": "UNLOCK",
            "state_locked": "LOCKED",
            "state_unlocked": "UNLOCKED",
            "state_open": "OPEN",
            "optimistic": False,
        }
    return entities
