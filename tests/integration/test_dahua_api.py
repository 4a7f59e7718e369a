"""Our DahuaClient against the virtual attendance terminal over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openpss.protocols.aio import within
from openpss.protocols.dahua_http.client import (
    DahuaAuthError,
    DahuaClient,
    DahuaRequestError,
)
from openpss.protocols.dahua_http.events import EventPart
from tests.support.dahua_device import ADMIN_PASSWORD, RunningDevice, running_device
from tests.support.polling import eventually_async


@pytest.fixture
def device(tmp_path: Path) -> Iterator[RunningDevice]:
    with running_device(tmp_path) as running:
        yield running


def client(device: RunningDevice, password: str = ADMIN_PASSWORD) -> DahuaClient:
    return DahuaClient(device.url, "admin", password)


async def test_identity_and_system_info(device: RunningDevice) -> None:
    async with client(device) as c:
        info = await c.device_info()
        system = await c.get_system_info()
    assert info.serial == device.terminal.serial
    assert info.device_type == "OPSS-ASA100"
    assert info.software_version.startswith("1.000")
    assert system["serialNumber"] == device.terminal.serial


async def test_wrong_password_is_refused_with_401(device: RunningDevice) -> None:
    async with client(device, "wrong-pass1") as c:
        with pytest.raises(DahuaAuthError, match="Invalid Authority"):
            await c.device_info()


def test_challenge_names_the_serial(device: RunningDevice) -> None:
    response = httpx.get(f"{device.url}/cgi-bin/magicBox.cgi?action=getSerialNo")
    assert response.status_code == 401
    header = response.headers["www-authenticate"]
    assert f'realm="Login to {device.terminal.serial}"' in header and 'qop="auth"' in header


def test_uninitialized_device_until_password_set(tmp_path: Path) -> None:
    with running_device(tmp_path, password=None) as device:
        response = httpx.get(f"{device.url}/cgi-bin/magicBox.cgi?action=getSerialNo")
        assert response.status_code == 401
        assert "not initialized" in response.text
        weak = httpx.post(f"{device.url}/openpss/control/initialize", json={"password": "short"})
        assert weak.status_code == 422 and "8-32 characters" in weak.json()["detail"]
        done = httpx.post(f"{device.url}/openpss/control/initialize", json={"password": "Abcdefg1"})
        assert done.status_code == 200
        again = httpx.post(
            f"{device.url}/openpss/control/initialize", json={"password": "Abcdefg1"}
        )
        assert again.status_code == 409
        auth = httpx.DigestAuth("admin", "Abcdefg1")
        ok = httpx.get(f"{device.url}/cgi-bin/magicBox.cgi?action=getSerialNo", auth=auth)
        assert ok.text == f"sn={device.terminal.serial}\r\n"


async def test_time_round_trip(device: RunningDevice) -> None:
    async with client(device) as c:
        await c.set_current_time(dt.datetime(2026, 5, 4, 3, 2, 1))
        now = await c.get_current_time()
        assert dt.timedelta(0) <= now - dt.datetime(2026, 5, 4, 3, 2, 1) < dt.timedelta(seconds=5)
        with pytest.raises(DahuaRequestError, match="time must be YYYY-MM-DD HH:MM:SS"):
            await c.request("global", "setCurrentTime", {"time": "yesterday"})


async def test_config_get_set_and_all_or_nothing(device: RunningDevice) -> None:
    async with client(device) as c:
        network = await c.get_config("Network")
        assert network["table.Network.eth0.IPAddress"] == "192.168.1.108"
        assert network["table.Network.eth0.SubnetMask"] == "255.255.255.0"
        assert network["table.Network.eth0.DefaultGateway"] == "192.168.1.1"
        await c.set_config(
            {
                "Attendance.RecheckInterval": 5,
                "Locales.TimeZone": "GMT+08:00",
                "Bell[2].Time": "12:30",
                "Bell[2].Duration": 10,
            }
        )
        assert (await c.get_config("Bell"))["table.Bell[2].Time"] == "12:30"
        with pytest.raises(DahuaRequestError, match="GMT-12:00 to GMT\\+13:00"):
            await c.set_config({"Attendance.RecheckInterval": 1, "Locales.TimeZone": "GMT+14:00"})
        with pytest.raises(DahuaRequestError, match="MAC address of the device cannot be changed"):
            await c.set_config({"Network.eth0.PhysicalAddress": "00:11:22:33:44:55"})
        with pytest.raises(DahuaRequestError, match="department names cannot be empty"):
            await c.set_config({"Department[3].Name": ""})
        with pytest.raises(DahuaRequestError, match="unknown config name"):
            await c.get_config("Nonsense")
        attendance = await c.get_config("Attendance")
    assert attendance["table.Attendance.RecheckInterval"] == "5"
    assert device.terminal.settings.timezone_minutes == 480


async def test_users_cards_fingerprints_crud(device: RunningDevice) -> None:
    async with client(device) as c:
        users = [
            {"UserID": str(i), "UserName": f"U{i}", "Authority": 2, "Password": "1234"}
            for i in range(1, 151)
        ]
        await c.insert_users(users)
        await c.insert_cards([{"UserID": "1", "CardNo": "a1"}, {"UserID": "2", "CardNo": "B2"}])
        await c.insert_fingerprints("1", [b"\x01" * 32])
        assert len(await c.find_users()) == 150
        assert await c.find_cards("1") == [
            {"UserID": "1", "CardNo": "A1", "CardType": 0, "CardStatus": 0}
        ]
        [fp] = await c.find_fingerprints("1")
        assert fp["Count"] == 1
        await c.update_cards([{"UserID": "3", "CardNo": "A1"}])  # the card moves to user 3
        assert device.terminal.card_owner["A1"] == 3
        with pytest.raises(DahuaRequestError, match="card B2 already belongs to user 2"):
            await c.insert_cards([{"UserID": "4", "CardNo": "B2"}])
        with pytest.raises(DahuaRequestError, match="at most 3 fingerprints"):
            await c.insert_fingerprints("1", [b"\x02" * 32] * 3)
        await c.remove_users(["2"])
        assert "B2" not in device.terminal.card_owner
        await c.update_users([{"UserID": "1", "UserName": "Renamed"}])
        assert device.terminal.get_user(1).fingerprints == [b"\x01" * 32]
        with pytest.raises(DahuaRequestError, match="user 999 does not exist"):
            await c.update_users([{"UserID": "999", "UserName": "Ghost"}])
        with pytest.raises(DahuaRequestError, match="At most 100 entries"):
            await c.insert_users(users, batch=101)
        with pytest.raises(DahuaRequestError, match="name must be at most 16"):
            await c.insert_users([{"UserID": "5", "UserName": "x" * 17}])


async def test_legacy_record_updater(device: RunningDevice) -> None:
    async with client(device) as c:
        rec_no = await c.insert_card_legacy(card_no="CAFE", user_id="42", name="Old")
    assert rec_no == 42
    assert device.terminal.get_user(42).cards == ["CAFE"]


async def test_face_is_not_supported(device: RunningDevice) -> None:
    async with client(device) as c:
        with pytest.raises(DahuaRequestError, match="no face recognition"):
            await c.request("AccessFace", "insertMulti", json_body={"FaceList": []})


async def test_records_find_incremental_and_factory(device: RunningDevice) -> None:
    async with client(device) as c:
        await c.insert_users([{"UserID": "1", "UserName": "Ann"}])
        await c.insert_cards([{"UserID": "1", "CardNo": "C1"}])
    for _ in range(5):
        assert device.present(card="C1")["accepted"] is True
    async with client(device) as c:
        page = await c.find_records(count=2)
        assert page.total_count == 5 and [r["RecNo"] for r in page.records] == ["1", "2"]
        after = [r["RecNo"] async for r in c.iter_records_after(2, page=2)]
        assert after == ["3", "4", "5"]
        factory = await c.find_records_factory({"RecNoAfter": 3}, page=1)
        assert [r["RecNo"] for r in factory] == ["4", "5"]
        now = dt.datetime.now(dt.UTC)
        window = await c.find_records(
            start=now - dt.timedelta(hours=1), end=now + dt.timedelta(hours=1)
        )
        assert window.total_count == 5
        future = await c.find_records(start=now + dt.timedelta(hours=1))
        assert future.records == [] and future.total_count == 0
        record = page.records[0]
        assert record["UserID"] == "1" and record["CardNo"] == "C1" and record["Method"] == "1"
        assert record["AttendanceState"] in {"1", "4"}  # Dahua codes: 1 check in, 4 check out
        assert record["Type"] == {"1": "Entry", "4": "Exit"}[record["AttendanceState"]]
        assert (record["Status"], record["ErrorCode"], record["ReaderID"]) == ("1", "0", "1")
        assert list(record) == sorted(record)  # devices send the fields in sorted order
        with pytest.raises(DahuaRequestError, match="name must be AccessControlCardRec"):
            await c.request("recordFinder", "find", {"name": "Other"})


async def test_event_stream_delivers_punches_and_heartbeats(device: RunningDevice) -> None:
    async with client(device) as c:
        await c.insert_users([{"UserID": "1", "UserName": "Ann", "Password": "1234"}])
        received: list[EventPart] = []

        async def listen() -> None:
            async for event in c.events(heartbeat=1):
                received.append(event)
                if event.code == "AccessControl":
                    return

        task = asyncio.create_task(listen())
        await eventually_async(lambda: device.front.hub.subscribers > 0, what="a subscriber")
        await asyncio.to_thread(device.present, user_id=1, password="1234")
        await within(task, 10)
    event = received[-1]
    assert event.data is not None
    assert event.data["UserID"] == "1" and event.data["Method"] == 0 and event.data["Status"] == 1


def test_control_present_requires_auth_and_valid_body(device: RunningDevice) -> None:
    response = httpx.post(f"{device.url}/openpss/control/present", json={"card": "1"})
    assert response.status_code == 401
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    bad = httpx.post(f"{device.url}/openpss/control/present", json={}, auth=auth)
    assert bad.status_code == 422 and "give card" in bad.json()["detail"]
    unknown = device.present(card="FFFF")
    assert unknown["accepted"] is False and unknown["message"] == "card not registered"


def test_malformed_requests_get_error_bodies(device: RunningDevice) -> None:
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    bad_json = httpx.post(
        f"{device.url}/cgi-bin/AccessUser.cgi?action=insertMulti", content=b"{not json", auth=auth
    )
    assert bad_json.status_code == 400 and bad_json.text.startswith(
        "Error\r\nBody is not valid JSON"
    )
    unknown = httpx.get(f"{device.url}/cgi-bin/nothing.cgi?action=x", auth=auth)
    assert unknown.status_code == 400 and unknown.text == "Error\r\nBad Request!\r\n"
    codes = httpx.get(f"{device.url}/cgi-bin/eventManager.cgi?action=attach&codes=All", auth=auth)
    assert codes.status_code == 400 and "codes must be written" in codes.text


def test_usb_control_exports_and_refuses_unknown_operations(tmp_path: Path) -> None:
    usb_dir = tmp_path / "usb"
    usb_dir.mkdir()
    with running_device(tmp_path / "dev", usb_dir=usb_dir) as device:
        auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
        url = f"{device.url}/openpss/control/usb"
        done = httpx.post(url, json={"operation": "export_users"}, auth=auth)
        assert done.json() == {"operation": "export_users", "result": "UserInfo.xlsx"}
        assert (usb_dir / "UserInfo.xlsx").is_file()
        report = httpx.post(
            url, json={"operation": "export_report", "year": 2026, "month": 3}, auth=auth
        )
        assert report.json()["result"] == "ATTReport_202603.xlsx"
        unknown = httpx.post(url, json={"operation": "format_disk"}, auth=auth)
        assert unknown.status_code == 422 and "unknown USB operation" in unknown.json()["detail"]
        missing = httpx.post(url, json={"operation": "import_fingerprints"}, auth=auth)
        assert missing.status_code == 422 and "UserFP.json is not on the USB drive" in missing.text


async def test_shift_and_dst_tables_over_config_manager(device: RunningDevice) -> None:
    async with client(device) as c:
        await c.set_config(
            {
                "Shift[0].Period1": "09:00-12:00",
                "Shift[0].Period2": "14:00-17:30",
                "Locales.DSTEnable": True,
                "Locales.DSTStart.Month": 3,
                "Locales.DSTStart.Week": -1,
                "Locales.DSTStart.Day": 0,
            }
        )
        shifts = await c.get_config("Shift")
        assert shifts["table.Shift[0].Period2"] == "14:00-17:30"
        assert shifts["table.Shift[23].Period1"] == ""
        locales = await c.get_config("Locales")
        assert locales["table.Locales.DSTEnable"] == "true"
        assert locales["table.Locales.DSTStart.Week"] == "-1"
        with pytest.raises(DahuaRequestError, match="must start after 09:00-12:00 ends"):
            await c.set_config(
                {"Shift[1].Period1": "09:00-12:00", "Shift[1].Period2": "11:00-13:00"}
            )
        with pytest.raises(DahuaRequestError, match="Shift index must be"):
            await c.set_config({"Shift[24].Period1": "09:00-12:00"})
        with pytest.raises(DahuaRequestError, match="DST start week must be"):
            await c.set_config({"Locales.DSTStart.Week": 7})
        assert (await c.get_config("Shift"))["table.Shift[1].Period1"] == ""


async def test_legacy_card_removal(device: RunningDevice) -> None:
    async with client(device) as c:
        await c.insert_card_legacy(card_no="BEEF", user_id="8")
        await c.request("recordUpdater", "remove", {"name": "AccessControlCard", "CardNo": "BEEF"})
        with pytest.raises(DahuaRequestError, match="card BEEF is not registered"):
            await c.request(
                "recordUpdater", "remove", {"name": "AccessControlCard", "CardNo": "BEEF"}
            )
    assert device.terminal.get_user(8).cards == []


def test_garbage_parameters_and_auth_headers_never_crash_the_server(device: RunningDevice) -> None:
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    base = f"{device.url}/cgi-bin"
    token = httpx.get(f"{base}/AccessUser.cgi?action=startFind", auth=auth).json()["Token"]
    cases = [
        f"{base}/AccessUser.cgi?action=doFind&Token={token}&Offset=x",
        f"{base}/AccessUser.cgi?action=doFind&Token=nope",
        f"{base}/AccessUser.cgi?action=removeMulti&UserIDList[0]=abc",
        f"{base}/recordFinder.cgi?action=find&name=AccessControlCardRec&count=0",
        f"{base}/recordFinder.cgi?action=find&name=AccessControlCardRec&StartTime=soon",
        f"{base}/recordFinder.cgi?action=doFind&object=999",
        f"{base}/configManager.cgi?action=setConfig&Bell[0].Duration=long",
        f"{base}/configManager.cgi?action=setConfig&Bell[0]..Time=1",
        f"{base}/eventManager.cgi?action=attach&codes=[All]&heartbeat=0",
    ]
    for url in cases:
        response = httpx.get(url, auth=auth)
        assert response.status_code == 400, url
        assert response.text.startswith("Error\r\n"), url
    for header in ("Digest", 'Digest username="admin", realm=', "Digest ===", "Bearer x"):
        response = httpx.get(
            f"{base}/magicBox.cgi?action=getSerialNo", headers={"Authorization": header}
        )
        assert response.status_code == 401, header


def test_deep_json_and_out_of_range_times_get_error_bodies(device: RunningDevice) -> None:
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    base = f"{device.url}/cgi-bin"
    deep = b'{"UserList": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    nested = httpx.post(f"{base}/AccessUser.cgi?action=insertMulti", content=deep, auth=auth)
    assert nested.status_code == 400
    assert nested.text.startswith("Error\r\nBody is not valid JSON: nested too deeply")
    finder = f"{base}/recordFinder.cgi?action=find&name=AccessControlCardRec"
    for start in ("99999999999999999999", "-99999999999999", "0001-01-01 00:00:00"):
        answer = httpx.get(f"{finder}&StartTime={start}", auth=auth)
        assert answer.status_code == 400, start
        assert "out of range" in answer.text, start
    clock = f"{base}/global.cgi?action=setCurrentTime&time="
    for when in ("0001-01-01 00:00:00", "9999-12-31 23:59:59"):
        answer = httpx.get(clock + when.replace(" ", "%20"), auth=auth)
        assert answer.status_code == 400 and "years 1970-2099" in answer.text, when
    now = httpx.get(f"{base}/global.cgi?action=getCurrentTime", auth=auth)
    assert now.status_code == 200  # the clock still works


async def test_validity_and_duress_cards_over_the_cgi_api(device: RunningDevice) -> None:
    """Issue 8: ValidFrom/ValidTo and CardType 5 are kept, shown and enforced; bad ones named."""
    async with client(device) as c:
        user = {"UserID": "31", "UserName": "Val", "ValidTo": "2020-01-01 00:00:00"}
        await c.insert_users([user, {"UserID": "32", "UserName": "Dur"}])
        await c.insert_cards(
            [
                {"UserID": "31", "CardNo": "C31"},
                {"UserID": "32", "CardNo": "C32", "CardType": 5},
                {"UserID": "32", "CardNo": "D32", "CardType": 0},
            ]
        )
        assert (await c.find_users("31"))[0]["ValidTo"] == "2020-01-01 00:00:00"
        types = {card["CardNo"]: card["CardType"] for card in await c.find_cards("32")}
        assert types == {"C32": 5, "D32": 0}
        with pytest.raises(DahuaRequestError, match="ValidTo must be YYYY-MM-DD HH:MM:SS"):
            await c.insert_users([{"UserID": "33", "ValidTo": "next year"}])
        with pytest.raises(DahuaRequestError, match="ValidFrom must not be after ValidTo"):
            bad = {"UserID": "33", "ValidFrom": "2030-01-01 00:00:00"}
            await c.insert_users([{**bad, "ValidTo": "2029-01-01 00:00:00"}])
    expired = await asyncio.to_thread(device.present, card="C31")
    assert expired["message"] == "outside the user's validity period"
    assert (await asyncio.to_thread(device.present, card="C32"))["accepted"]
    async with client(device) as c:
        records = (await c.find_records()).records
    assert [(r["Status"], r["ErrorCode"], r["CardType"]) for r in records] == [
        ("0", "20", "0"),
        ("1", "0", "5"),
    ]


@pytest.mark.parametrize("value", [123, [], {}, None, "", "2026-13-01 00:00:00", "x" * 5000])
def test_odd_validity_and_card_types_never_fail_the_server(
    device: RunningDevice, value: object
) -> None:
    """Garbage ValidFrom / ValidTo / CardType answers 200 or 400 with a message, never 500."""
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    base = f"{device.url}/cgi-bin"
    for cgi, body in (
        ("AccessUser", {"UserList": [{"UserID": "41", "ValidFrom": value, "ValidTo": value}]}),
        ("AccessCard", {"CardList": [{"UserID": "41", "CardNo": "E41", "CardType": value}]}),
    ):
        response = httpx.post(f"{base}/{cgi}.cgi?action=insertMulti", json=body, auth=auth)
        assert response.status_code in (200, 400), response.text
        if response.status_code == 400:
            assert "Error" in response.text and len(response.text) < 500


async def test_remove_endpoints_in_the_dahua_forms_take_access_away(
    device: RunningDevice,
) -> None:
    """Issue 8: AccessCard / AccessFingerprint / AccessUser removeMulti (GET, indexed lists)."""
    finger = bytes(range(100))
    async with client(device) as c:
        await c.insert_users(
            [{"UserID": "51", "Password": "5151"}, {"UserID": "52", "Password": "5252"}]
        )
        await c.insert_cards([{"UserID": "51", "CardNo": "F51"}, {"UserID": "52", "CardNo": "F52"}])
        await c.insert_fingerprints("51", [finger])
    for body in ({"card": "F51"}, {"fingerprint": base64.b64encode(finger).decode()}):
        assert (await asyncio.to_thread(device.present, **body))["accepted"]
    auth = httpx.DigestAuth("admin", ADMIN_PASSWORD)
    base = f"{device.url}/cgi-bin"
    for path in (
        "AccessCard.cgi?action=removeMulti&CardNoList[0]=F51",
        "AccessFingerprint.cgi?action=removeMulti&UserIDList[0]=51",
        "AccessUser.cgi?action=removeMulti&UserIDList[0]=52&UserIDList[1]=51",
    ):
        response = await asyncio.to_thread(httpx.get, f"{base}/{path}", auth=auth)
        assert (response.status_code, response.text.strip()) == (200, "OK"), path
    attempts: list[dict[str, object]] = [
        {"card": "F51"},
        {"fingerprint": base64.b64encode(finger).decode()},
        {"card": "F52"},
        {"user_id": 51, "password": "5151"},
    ]
    messages = [(await asyncio.to_thread(device.present, **a))["message"] for a in attempts]
    assert messages == [
        "card not registered",
        "fingerprint not recognized",
        "card not registered",
        "wrong user ID or password",
    ]
    async with client(device) as c:
        assert await c.find_users() == [] and await c.find_cards() == []
