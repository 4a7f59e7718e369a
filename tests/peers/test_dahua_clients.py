"""Real Dahua client libraries from PyPI (amcrest, aiodahua) against the virtual terminal."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiodahua
import amcrest
import httpx
import pytest

from openpss.protocols.aio import within
from openpss.protocols.dahua_http.digest import NONCE_LIFETIME_S, NonceBook
from openpss.protocols.dahua_http.lockout import LoginLockout
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device
from tests.support.polling import eventually_async

pytestmark = pytest.mark.peers


@pytest.fixture
def device(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path) as running:
        yield running


def test_amcrest_reads_identity(device: RunningDevice) -> None:
    camera = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", ADMIN_PASSWORD).camera
    assert camera.serial_number == device.terminal.serial
    assert camera.device_type == "OPSS-ASA100"
    assert camera.machine_name == device.terminal.settings.machine_name
    assert camera.vendor_information == "OpenPSS"
    version, build = camera.software_information
    assert version == "1.000.0000000.1.R" and build.strip() == "2026-11-01"


def test_amcrest_rejects_wrong_password(device: RunningDevice) -> None:
    camera = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", "Wrong1234").camera
    with pytest.raises(amcrest.LoginError):
        _ = camera.serial_number


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_amcrest_is_locked_out_after_five_wrong_passwords(device: RunningDevice) -> None:
    clock = Clock()
    device.front.guard.lockout = LoginLockout(clock=clock)
    for _ in range(5):
        wrong = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", "Wrong1234").camera
        with pytest.raises(amcrest.LoginError):
            _ = wrong.serial_number
    right = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", ADMIN_PASSWORD).camera
    with pytest.raises(amcrest.LoginError):
        _ = right.serial_number
    clock.now += 300
    again = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", ADMIN_PASSWORD).camera
    assert again.serial_number == device.terminal.serial


def test_amcrest_follows_a_stale_nonce(device: RunningDevice) -> None:
    clock = Clock()
    device.front.guard.nonces = NonceBook(clock=clock)
    camera = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", ADMIN_PASSWORD).camera
    assert camera.serial_number == device.terminal.serial
    clock.now += NONCE_LIFETIME_S + 1
    assert camera.machine_name == device.terminal.settings.machine_name
    assert camera.device_type == "OPSS-ASA100"


def test_amcrest_sets_and_reads_time(device: RunningDevice) -> None:
    camera = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", ADMIN_PASSWORD).camera
    camera.current_time = dt.datetime(2026, 1, 2, 3, 4, 5)
    read_back = camera.current_time
    assert dt.timedelta(0) <= read_back - dt.datetime(2026, 1, 2, 3, 4, 5) < dt.timedelta(seconds=5)


def test_amcrest_event_stream_sees_a_punch(device: RunningDevice) -> None:
    camera = amcrest.AmcrestCamera("127.0.0.1", device.port, "admin", ADMIN_PASSWORD).camera
    _seed_user(device)
    received: list[tuple[str, dict[str, Any]]] = []

    def listen() -> None:
        actions = camera.event_actions("AccessControl")
        try:
            received.append(next(actions))
        finally:
            actions.close()  # type: ignore[attr-defined]

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    for _ in range(500):
        if device.front.hub.subscribers:
            break
        threading.Event().wait(0.01)
    assert device.present(card="ABCD")["accepted"] is True
    thread.join(timeout=10)
    [(code, payload)] = received
    assert code == "AccessControl"
    assert payload["action"] == "Pulse"
    assert payload["data"]["CardNo"] == "ABCD" and payload["data"]["UserID"] == "7"


def _seed_user(device: RunningDevice) -> None:
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    body = {"UserList": [{"UserID": "7", "UserName": "Peer"}]}
    httpx.post(f"{device.url}/cgi-bin/AccessUser.cgi?action=insertMulti", json=body, auth=auth)
    cards = {"CardList": [{"UserID": "7", "CardNo": "ABCD"}]}
    response = httpx.post(
        f"{device.url}/cgi-bin/AccessCard.cgi?action=insertMulti", json=cards, auth=auth
    )
    assert response.text == "OK\r\n"


async def test_aiodahua_identifies_and_configures(device: RunningDevice) -> None:
    async with aiodahua.DahuaClient(
        "127.0.0.1", "admin", ADMIN_PASSWORD, port=device.port
    ) as client:
        assert await client.async_get_serial_number() == device.terminal.serial
        assert await client.async_get_device_type() == "OPSS-ASA100"
        assert await client.async_get_software_version() == "1.000.0000000.1.R,build:2026-11-01"
        brand = await client.async_identify()
        assert brand is not None
        config = await client.async_get_config("Attendance")
        assert config["table.Attendance.VerificationMethod"] == "FP/PWD/Card"
        assert await client.async_set_config({"Attendance.RecheckInterval": 7}) is True
        with pytest.raises(aiodahua.DahuaError):
            await client.async_set_config({"Attendance.RecheckInterval": 70})
    assert device.terminal.settings.recheck_interval_min == 7


async def test_aiodahua_rejects_wrong_password(device: RunningDevice) -> None:
    async with aiodahua.DahuaClient("127.0.0.1", "admin", "Wrong1234", port=device.port) as client:
        with pytest.raises(aiodahua.DahuaAuthError):
            await client.async_get_serial_number()


async def test_aiodahua_follows_a_stale_nonce_and_is_locked_out(device: RunningDevice) -> None:
    clock = Clock()
    device.front.guard.nonces = NonceBook(clock=clock)
    device.front.guard.lockout = LoginLockout(max_failures=2, lock_seconds=60, clock=clock)
    async with aiodahua.DahuaClient(
        "127.0.0.1", "admin", ADMIN_PASSWORD, port=device.port
    ) as client:
        assert await client.async_get_serial_number() == device.terminal.serial
        clock.now += NONCE_LIFETIME_S + 1
        assert await client.async_get_device_type() == "OPSS-ASA100"
    for _ in range(2):
        async with aiodahua.DahuaClient(
            "127.0.0.1", "admin", "Wrong1234", port=device.port
        ) as wrong:
            with pytest.raises(aiodahua.DahuaAuthError):
                await wrong.async_get_serial_number()
    async with aiodahua.DahuaClient(
        "127.0.0.1", "admin", ADMIN_PASSWORD, port=device.port
    ) as client:
        with pytest.raises(aiodahua.DahuaAuthError):
            await client.async_get_serial_number()


async def test_aiodahua_event_stream_sees_a_punch(device: RunningDevice) -> None:
    _seed_user(device)
    chunks: list[bytes] = []
    seen = asyncio.Event()

    def on_receive(data: bytes, channel: int) -> None:
        chunks.append(data)
        if b"Code=AccessControl" in b"".join(chunks):
            seen.set()

    async with aiodahua.DahuaClient(
        "127.0.0.1", "admin", ADMIN_PASSWORD, port=device.port
    ) as client:
        task = asyncio.create_task(client.stream_events(on_receive, ["AccessControl"], 0))
        await eventually_async(lambda: device.front.hub.subscribers > 0, what="a subscriber")
        result = await asyncio.to_thread(device.present, card="ABCD")
        await within(seen.wait(), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert result["accepted"] is True
    body = b"".join(chunks).decode()
    assert "--myboundary" in body and '"CardNo":"ABCD"' in body
