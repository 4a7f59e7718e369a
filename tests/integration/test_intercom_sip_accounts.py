"""A virtual VTH given a registration number registers with the platform's SIP server under it."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from sqlalchemy import select

from openpss.platform.app import create_app
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.events import Event, EventKind, Subscription
from openpss.platform.intercom import buildings, configure, registrations, rooms, sip
from openpss.platform.intercom.schemas import NodeCreate, RegistrationCreate, RoomCreate
from openpss.platform.security.audit import Actor
from openpss.platform.security.models import AuditEntry
from openpss.platform.settings import Settings
from tests.support.polling import eventually_async
from tests.support.vth_device import VTH_PASSWORD, running_vth

ACTOR = Actor("tester")


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
                community = buildings.get_community(session=s)
                b = buildings.add_node(
                    session=s, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
                )
                u = buildings.add_node(
                    session=s, actor=ACTOR, data=NodeCreate(parent_id=b.id, number="1")
                )
                room = rooms.add_room(
                    session=s, actor=ACTOR, data=RoomCreate(node_id=u.id, number="11")
                )
                device = Device(
                    name="hall",
                    host="127.0.0.1",
                    port=port,
                    username="admin",
                    password_encrypted=encrypt_secret(app.state.settings, VTH_PASSWORD),
                    kind="vth",
                )
                s.add(device)
                s.flush()
                data = RegistrationCreate(
                    kind="vth", device_id=device.id, room_id=room.id, extension=5
                )
                row = registrations.add_registration(
                    session=s, actor=ACTOR, secret_key=app.state.settings.secret_key, data=data
                )
                s.commit()
                server.accounts.invalidate()
                await configure.configure_device(
                    session=s,
                    settings=app.state.settings,
                    actor=ACTOR,
                    registration_id=row.id,
                    server=("127.0.0.1", server.port),
                )
                s.commit()
                actions = s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
                assert actions[-1] == "intercom.registration.configure"
            await eventually_async(
                lambda: "11#01#11#5" in app.state.sip_events.online,
                what="the VTH's registration",
                timeout=60,
            )
            assert vth.status()["registered"]
            # the monitor is never polled: its registration is its device status (MQTT)
            online = await asyncio.wait_for(_status_of(heard, device.id), 10)
            assert online.data == {"online": True}
            server.location.remove("11#01#11#5")  # its binding gone (expired or unregistered)
            offline = await asyncio.wait_for(_status_of(heard, device.id), 10)
            assert offline.data == {"online": False}
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.state.engine.dispose()
