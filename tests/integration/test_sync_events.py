"""The device sync's events on the platform bus: online status, new records published once,
the first pull (the device's history) stored but not published."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from openpss.platform.db import make_engine, make_session_factory
from openpss.platform.devices.crypto import encrypt_secret
from openpss.platform.devices.models import Device
from openpss.platform.devices.sync import SyncService
from openpss.platform.events import Event, EventBus, EventKind
from openpss.platform.records.models import AccessRecord
from openpss.platform.settings import Settings
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path / "terminal") as device:
        yield device


def _drain(queue: asyncio.Queue[Event]) -> list[Event]:
    events = []
    while not queue.empty():
        events.append(queue.get_nowait())
    return events


async def test_history_is_stored_not_published_and_live_punches_are(
    sqlite_url: str, tmp_path: Path, terminal: RunningDevice
) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="test-secret-key-0123456789",
        background_services=False,
    )
    factory = make_session_factory(make_engine(sqlite_url))
    with factory() as s:
        port = urlsplit(terminal.url).port or 0
        device = Device(name="T", host="127.0.0.1", port=port, username="admin", kind="attendance")
        device.password_encrypted = encrypt_secret(settings, ADMIN_PASSWORD)
        s.add(device)
        s.commit()
        device_id = device.id
    terminal.present(card="0A0B0C01")  # before the platform knew the device: history
    bus = EventBus()
    heard = bus.subscribe()
    sync = SyncService(factory, settings, bus=bus, heartbeat=1, feed_attendance=False)
    try:
        await sync.run_once()
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(AccessRecord)) == 1
        first = _drain(heard.queue)
        assert [(e.kind, e.data) for e in first] == [(EventKind.status, {"online": True})]
        # After the first pull, new records are news: published once, whether the event stream
        # (if already attached) or the next pull brings them first.
        terminal.present(card="0A0B0C02")
        await sync.run_once()
        await asyncio.sleep(0.5)  # a stream copy, if any, would be in by now (and stored once)
        events = _drain(heard.queue)
        access = [e for e in events if e.kind is EventKind.access]
        assert [(e.device_id, e.data["card"], e.data["granted"]) for e in access] == [
            (device_id, "0A0B0C02", False)
        ]
    finally:
        await sync.close()
