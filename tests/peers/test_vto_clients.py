"""A real Dahua client library from PyPI (aiodahua) against the virtual door station."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import aiodahua
import pytest

from openpss.protocols.aio import within
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto

pytestmark = pytest.mark.peers


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path) as running:
        yield running


def _port(vto: RunningVto) -> int:
    return vto.thread.runtime.http_port


async def test_aiodahua_opens_the_door(vto: RunningVto) -> None:
    async with aiodahua.DahuaClient("127.0.0.1", "admin", VTO_PASSWORD, port=_port(vto)) as client:
        assert (await client.async_get_device_type()).startswith("VTO")
        assert await client.async_get_serial_number() == vto.station.serial
        await client.async_access_control_open_door(1)
        snapshot = await client.async_get_snapshot(1)
    assert snapshot[:2] == b"\xff\xd8"
    [record] = vto.on_loop(lambda: vto.station.find_records("unlock"))
    assert record.data["Method"] == 4 and record.data["UserID"] == "101"
    assert record.data["Status"] == 1


async def test_aiodahua_is_refused_with_a_wrong_password(vto: RunningVto) -> None:
    async with aiodahua.DahuaClient("127.0.0.1", "admin", "Wrong1234", port=_port(vto)) as client:
        with pytest.raises(aiodahua.DahuaAuthError):
            await client.async_access_control_open_door(1)
    assert vto.on_loop(lambda: vto.station.find_records("unlock")) == []


async def test_aiodahua_event_stream_sees_a_button_press(vto: RunningVto) -> None:
    vto.control("rooms", add=[{"number": "101"}])
    vto.control("facade", modules=[{"type": "button1", "keys": ["101"]}])
    chunks: list[bytes] = []
    seen = asyncio.Event()

    def on_receive(data: bytes, channel: int) -> None:
        chunks.append(data)
        if b"Code=Invite" in b"".join(chunks):
            seen.set()

    async with aiodahua.DahuaClient("127.0.0.1", "admin", VTO_PASSWORD, port=_port(vto)) as client:
        task = asyncio.create_task(client.stream_events(on_receive, ["BackKeyLight", "Invite"], 0))
        while vto.thread.runtime.http.hub.subscribers == 0:
            await asyncio.sleep(0.02)
        response = await asyncio.to_thread(vto.control, "press", button=2)
        assert response.status_code == 200
        await within(seen.wait(), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    body = b"".join(chunks).decode()
    assert 'Code=BackKeyLight;action=Pulse;index=0;data={"State":1}' in body
    assert '"UserID":"101"' in body
