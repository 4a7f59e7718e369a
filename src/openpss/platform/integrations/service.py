"""What the console and the API show of the integrations, and the MQTT test message."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from sqlalchemy.orm import Session

from openpss.platform.integrations.mqtt import MqttBridge
from openpss.platform.security.audit import Actor, record_audit


class IntegrationError(ValueError):
    """The integration cannot do what was asked (HTTP 409)."""


def safe_url(url: str | None) -> str:
    """The broker URL without its password."""
    if not url:
        return ""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname}{port}"


def mqtt_status(bridge: MqttBridge) -> dict[str, Any]:
    """State of the MQTT bridge: link, settings (no password), counters, last messages."""
    settings = bridge.settings
    return {
        "state": bridge.state.value,
        "error": bridge.error,
        "url": safe_url(settings.mqtt_url),
        "topic_prefix": settings.mqtt_topic_prefix,
        "discovery_prefix": settings.mqtt_discovery_prefix,
        "client_id": settings.mqtt_client_id,
        "commands": list(settings.mqtt_commands),
        "queued": bridge.queued,
        "messages_sent": bridge.messages_sent,
        "messages_received": bridge.messages_received,
        "reconnects": bridge.reconnects,
        "last_messages": [
            {"time": m.at.isoformat(), "topic": m.topic, "payload": m.payload}
            for m in reversed(bridge.sent)
        ],
    }


async def send_test_message(*, session: Session, bridge: MqttBridge, actor: Actor) -> str:
    """Publish the test message (IntegrationError when MQTT is off or down); audited."""
    if not bridge.settings.mqtt_url:
        raise IntegrationError("MQTT is off: set OPENPSS_MQTT_URL and restart the server")
    try:
        topic = await bridge.test_message()
    except aiomqtt.MqttError as exc:
        raise IntegrationError(f"the test message was not sent: {exc}") from exc
    record_audit(session=session, actor=actor, action="integrations.mqtt_test", target=topic)
    return topic
