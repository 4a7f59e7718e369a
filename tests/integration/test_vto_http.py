"""The door station's Dahua CGI API and control endpoint, over real HTTP on loopback."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from openpss.protocols.dahua_http.codec import RecordPage, parse_kv
from openpss.protocols.dahua_http.events import EventStreamDecoder
from tests.support.vto_device import RunningVto, running_vto


@pytest.fixture
def vto(tmp_path: Path) -> Iterator[RunningVto]:
    with running_vto(tmp_path) as running:
        yield running


def get(vto: RunningVto, path: str) -> httpx.Response:
    return httpx.get(f"{vto.url}{path}", auth=vto.auth(), timeout=10)


def test_identity_and_config(vto: RunningVto) -> None:
    assert parse_kv(get(vto, "/cgi-bin/magicBox.cgi?action=getDeviceType").text) == {
        "type": "VTO4202F-MB5"
    }
    video_talk = parse_kv(
        get(vto, "/cgi-bin/configManager.cgi?action=getConfig&name=VideoTalk").text
    )
    assert video_talk["table.VideoTalk.VTONumber"] == "8001"
    sip = parse_kv(get(vto, "/cgi-bin/configManager.cgi?action=getConfig&name=SIP").text)
    assert sip["table.SIP.SIPServerEnable"] == "true"
    ok = get(
        vto, "/cgi-bin/configManager.cgi?action=setConfig&AccessControl[0].UnlockHoldInterval=3000"
    )
    assert ok.text == "OK\r\n"
    bad = get(
        vto, "/cgi-bin/configManager.cgi?action=setConfig&AccessControl[0].UnlockHoldInterval=5"
    )
    assert bad.status_code == 400 and "250-20000 ms" in bad.text
    assert vto.station.settings.access.unlock_hold_ms == 3000
    number = get(vto, "/cgi-bin/configManager.cgi?action=setConfig&VideoTalk.VTONumber=8009")
    assert number.status_code == 400 and "not the SIP server" in number.text
    network = "/cgi-bin/configManager.cgi?action=setConfig&Network.eth0.IPAddress="
    assert get(vto, network + "10.1.2.3").text == "OK\r\n"
    assert "IPv4 address" in get(vto, network + "10.1.2.300").text
    assert vto.station.settings.ip_address == "10.1.2.3"
    mode = "/cgi-bin/configManager.cgi?action=setConfig&AccessControl[0].State=OpenAlways"
    assert get(vto, mode).text == "OK\r\n" and vto.station.unlocked


def test_unauthenticated_requests_are_challenged(vto: RunningVto) -> None:
    response = httpx.get(f"{vto.url}/cgi-bin/magicBox.cgi?action=getDeviceType")
    assert response.status_code == 401
    assert f'realm="Login to {vto.station.serial}"' in response.headers["www-authenticate"]


def test_remote_open_door_answers_ok_and_is_recorded(vto: RunningVto) -> None:
    response = get(
        vto, "/cgi-bin/accessControl.cgi?action=openDoor&channel=1&UserID=101&Type=Remote"
    )
    assert response.text == "OK\r\n"
    page = RecordPage.parse(
        get(vto, "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec").text
    )
    [record] = page.records
    assert (record["Method"], record["Status"], record["UserID"]) == ("4", "1", "101")
    assert get(vto, "/cgi-bin/accessControl.cgi?action=openDoor&channel=2").status_code == 400


def test_snapshot_is_a_jpeg(vto: RunningVto) -> None:
    response = get(vto, "/cgi-bin/snapshot.cgi?channel=1")
    assert response.headers["content-type"] == "image/jpeg"
    assert response.content[:2] == b"\xff\xd8" and response.content[-2:] == b"\xff\xd9"


def test_platform_pushes_room_password_and_cards(vto: RunningVto) -> None:
    users = {"UserList": [{"UserID": "11", "UserName": "Room 11", "Password": "888888"}]}
    cards = {
        "CardList": [
            {"UserID": "11", "CardNo": "CAFE01"},
            {"UserID": "11", "CardNo": "D0", "CardType": 5},
        ]
    }
    finger = base64.b64encode(b"F" * 64).decode()
    prints = {"FingerprintList": [{"UserID": "11", "FingerprintData": [finger]}]}
    for cgi, body in (("AccessUser", users), ("AccessCard", cards), ("AccessFingerprint", prints)):
        response = httpx.post(
            f"{vto.url}/cgi-bin/{cgi}.cgi?action=insertMulti", json=body, auth=vto.auth()
        )
        assert response.text == "OK\r\n", response.text
    result = vto.control("keypad", keys="000011888888#").json()["result"]
    assert result[-1]["unlock"]["opened"] is True
    assert vto.control("swipe", card="cafe01").json()["result"]["opened"] is True
    assert vto.control("swipe", card="D0").json()["result"]["duress"] is True
    assert vto.control("finger", fingerprint=finger).json()["result"]["opened"] is True
    assert vto.control("swipe", card="NOPE").json()["result"]["opened"] is False
    bad = {"CardList": [{"UserID": "12", "CardNo": "bad card!"}]}
    response = httpx.post(
        f"{vto.url}/cgi-bin/AccessCard.cgi?action=insertMulti", json=bad, auth=vto.auth()
    )
    assert response.status_code == 400 and "card number" in response.text
    assert "12" not in vto.station.users  # nothing kept
    page = RecordPage.parse(
        get(vto, "/cgi-bin/recordFinder.cgi?action=find&name=AccessControlCardRec&count=10").text
    )
    assert [r["Status"] for r in page.records] == ["1", "1", "1", "1", "0"]
    alarms = RecordPage.parse(
        get(vto, "/cgi-bin/recordFinder.cgi?action=find&name=AlarmRecord").text
    )
    assert alarms.records[0]["AlarmType"] == "Duress"


def test_call_is_logged_and_found_by_time(vto: RunningVto) -> None:
    vto.control("rooms", add=[{"number": "101"}])
    vto.control("facade", modules=[{"type": "button1", "keys": ["101"]}, "keyboard"])
    assert vto.control("press", button=2).json()["status"]["call"] == {
        "state": "ringing",
        "peer": "101",
    }
    assert vto.control("peer", event="answer").json()["status"]["call"]["state"] == "talking"
    assert vto.control("press", button=2).json()["status"]["call"]["state"] == "idle"
    page = RecordPage.parse(
        get(vto, "/cgi-bin/recordFinder.cgi?action=find&name=VideoTalkLog&StartTime=0").text
    )
    assert page.records[0]["EndState"] == "Received" and page.records[0]["PeerNumber"] == "101"
    empty = get(vto, "/cgi-bin/recordFinder.cgi?action=find&name=VideoTalkLog&EndTime=1")
    assert RecordPage.parse(empty.text).records == []


def test_control_refusals_are_clear(vto: RunningVto) -> None:
    response = vto.control("press", button=9)
    assert response.status_code == 422 and "call key must be 1-1" in response.json()["detail"]
    assert vto.control("dial", number="555").json()["detail"].startswith("room 555 is not")
    assert vto.control("nope").status_code == 404
    status = httpx.get(f"{vto.url}/openpss/control/status", auth=vto.auth()).json()
    assert status["registered"] is True and status["door"] == "closed"
    assert set(status["rtp"]) == {"audio_in", "audio_out", "video_out"}
    assert httpx.get(f"{vto.url}/openpss/control/status").status_code == 401


def test_event_stream_carries_button_and_unlock_events(vto: RunningVto) -> None:
    vto.control("rooms", add=[{"number": "101"}])
    vto.control("facade", modules=[{"type": "button1", "keys": ["101"]}])
    parts: list[str] = []
    done = threading.Event()

    def listen() -> None:
        decoder = EventStreamDecoder()
        url = f"{vto.url}/cgi-bin/eventManager.cgi?action=attach&codes=[All]"
        with httpx.stream("GET", url, auth=vto.auth(), timeout=10) as response:
            for chunk in response.iter_bytes():
                for part in decoder.feed(chunk):
                    parts.append(part.code)
                    if part.code == "AccessControl":
                        done.set()
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    for _ in range(500):
        if vto.thread.runtime.http.hub.subscribers:
            break
        threading.Event().wait(0.01)
    vto.control("press", button=2)
    vto.control("exit-button")
    assert done.wait(10)
    assert parts[:2] == ["BackKeyLight", "Invite"] and parts[-1] == "AccessControl"
