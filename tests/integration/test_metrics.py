"""/metrics values from the platform's state: SIP registrations of the running SIP server,
devices online, events published (both databases)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from openpss.platform.app import create_app
from openpss.platform.devices.models import Device
from openpss.platform.events import Event, EventKind
from openpss.platform.intercom.sip import run as run_sip
from openpss.platform.settings import Settings
from openpss.protocols.sip.transport import Peer
from openpss.protocols.sip.ua import UserAgent


def _values(registry: object) -> dict[str, float]:
    text = generate_latest(registry).decode()  # type: ignore[arg-type]
    return {
        sample.name + str(sorted(sample.labels.items()) or ""): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_count_sip_registrations_devices_and_events(
    settings: Settings, tmp_path: Path
) -> None:
    accounts = tmp_path / "sip.csv"
    accounts.write_text("username,password\n9901#0,room-pw\n")
    app = create_app(settings.model_copy(update={"sip_port": 0, "sip_accounts_file": accounts}))
    with app.state.session_factory() as s:
        s.add(Device(name="T", host="127.0.0.1", port=1, username="a", password_encrypted=""))
        s.add(Device(name="U", host="127.0.0.1", port=2, username="a", password_encrypted=""))
        s.flush()
        first = s.get(Device, 1)
        assert first is not None
        first.online = True
        s.commit()
    task = asyncio.create_task(run_sip(app))
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while not hasattr(app.state, "sip_server"):
            assert asyncio.get_running_loop().time() < deadline, "SIP server did not start"
            await asyncio.sleep(0.02)
        ua = UserAgent(
            username="9901#0",
            password="room-pw",
            server=Peer("UDP", "127.0.0.1", app.state.sip_server.port),
        )
        await ua.start()
        await ua.register()
        app.state.event_bus.publish(Event(EventKind.access, 1, {"granted": True}))
        after = _values(app.state.metrics_registry)
        online = set(app.state.sip_events.online)  # the console's own agent may be there too
        await ua.close()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.engine.dispose()
    assert "9901#0" in online
    assert after["openpss_sip_registrations"] == len(online) >= 1
    assert after["openpss_sip_active_calls"] == 0
    assert after["openpss_devices_online"] == 1
    assert after["openpss_records_ingested_total"] == 1
    assert after["openpss_events_published_total[('kind', 'access')]"] == 1
    assert after["openpss_mqtt_connected"] == 0  # MQTT is off
