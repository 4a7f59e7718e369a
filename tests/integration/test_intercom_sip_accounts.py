"""A virtual VTH given a registration number registers with the platform's SIP server under it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import select

from openpss.platform.app import create_app
from openpss.platform.events import Event, EventKind, Subscription
from openpss.platform.intercom import sip
from openpss.platform.security.models import AuditEntry
from openpss.platform.settings import Settings
from openpss.protocols.aio import within
from tests.support.intercom_site import configure_live_unit
from tests.support.polling import eventually_async
from tests.support.vth_device import VTH_PASSWORD, running_vth


async def _status_of(heard: Subscription, device_id: int) -> Event:
    while True:
        event = await heard.get()
        if event.kind is EventKind.status and event.device_id == device_id:
            return event


async def test_vth_registers_with_the_platform_under_its_registration_number(
    settings: Settings, tmp_path: Path
) -> None:
    # the default realm (openpss, not VDP: the virtual VTH takes realm VDP for a door station
    # as SIP server, which refuses building#unit numbers, door-station manual Table 4-2)
    assert settings.sip_realm != "VDP"
    app = create_app(settings.model_copy(update={"sip_port": 0}))
    bus = app.state.event_bus
    bus.bind(asyncio.get_running_loop())
    heard = bus.subscribe()
    task = asyncio.create_task(sip.run(app))
    try:
        await eventually_async(
            lambda: hasattr(app.state, "sip_server"), what="the SIP server", timeout=60
        )
        server = app.state.sip_server
        with running_vth(tmp_path / "vth", room="9901#0", sip_server=None) as vth:
            port = int(vth.url.rsplit(":", 1)[1])
            with app.state.session_factory() as s:
                device_id, _ = await configure_live_unit(
                    s, app.state.settings, server, name="hall", kind="vth", port=port,
                    password=VTH_PASSWORD, extension=5,
                )  # fmt: skip
                actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
                assert actions[-1] == "intercom.registration.configure"
            await eventually_async(
                lambda: "11#01#11#5" in app.state.sip_events.online,
                what="the VTH's registration",
                timeout=60,
            )
            assert vth.status()["registered"]
            # the monitor is never polled: its registration is its device status (MQTT)
            online = await within(_status_of(heard, device_id), 10)
            assert online.data == {"online": True}
            server.location.remove("11#01#11#5")  # its binding gone (expired or unregistered)
            offline = await within(_status_of(heard, device_id), 10)
            assert offline.data == {"online": False}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.engine.dispose()
