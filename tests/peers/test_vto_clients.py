"""A real Dahua client library from PyPI (aiodahua) against the virtual door station."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiodahua
import pytest

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
