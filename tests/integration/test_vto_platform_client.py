"""The platform's own Dahua client (``DahuaClient``, the one that syncs the terminal) against
the door station: it pushes a room's unlock password, cards and fingerprints, reads them back,
pulls unlock records incrementally and removes what it pushed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from openpss.protocols.dahua_http.client import DahuaClient, DahuaRequestError
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path) as running:
        yield running


async def test_push_read_back_pull_and_remove(vto: RunningVto) -> None:
    async with DahuaClient(vto.url, "admin", VTO_PASSWORD) as client:
        info = await client.device_info()
        assert info.serial == vto.station.serial and info.device_type.startswith("VTO")
        await client.insert_users(
            [
                {"UserID": "11", "UserName": "Room 11", "Password": "888888"},
                {"UserID": "12", "UserName": "Room 12", "Password": "121212"},
            ]
        )
        await client.insert_cards([{"UserID": "11", "CardNo": "CAFE11"}])
        await client.insert_cards([{"UserID": "12", "CardNo": "D12", "CardType": 5}])
        await client.insert_fingerprints("12", [b"T" * 64])
        users = await client.find_users()
        assert [(u["UserID"], u["Password"]) for u in users] == [("11", "888888"), ("12", "121212")]
        assert [c["CardNo"] for c in await client.find_cards("12")] == ["D12"]
        assert (await client.find_cards("12"))[0]["CardType"] == 5
        [prints] = await client.find_fingerprints("12")
        assert prints["Count"] == 1

        opened = await asyncio.to_thread(vto.control, "keypad", keys="000011888888#")
        assert opened.json()["result"][-1]["unlock"]["opened"] is True
        await asyncio.to_thread(vto.control, "swipe", card="CAFE11")
        records = [r async for r in client.iter_records_after(0, page=1)]
        assert [(r["RecNo"], r["Method"], r["UserID"]) for r in records] == [
            ("1", "0", "11"),
            ("2", "1", "11"),
        ]
        assert [r async for r in client.iter_records_after(2)] == []

        await client.update_cards([{"UserID": "12", "CardNo": "CAFE11"}])  # the card moves
        assert sorted(c["CardNo"] for c in await client.find_cards("12")) == ["CAFE11", "D12"]
        await client.remove_cards(["CAFE11"])
        await client.remove_fingerprints(["12"])
        assert await client.find_fingerprints() == []
        await client.remove_users(["11"])
        assert [u["UserID"] for u in await client.find_users()] == ["12"]
        with pytest.raises(DahuaRequestError, match="unlock password must be 1-8 digits"):
            await client.insert_users([{"UserID": "13", "Password": "12ab"}])
        await client.remove_all_users()
        assert await client.find_users() == []
