"""Registration of the indoor monitor: re-registers at half the expiry the server grants, obeys
a 423 Min-Expires, shows offline with the reason on a wrong password, registers again at once
under a new room number; and its Dahua CGI subset (magicBox, configManager, eventManager)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from openpss.protocols.sip.accounts import StaticAccounts
from openpss.protocols.sip.server import SipServer
from tests.support.polling import eventually_async
from tests.support.vth_device import running_vth


@pytest.fixture
async def server() -> AsyncIterator[SipServer]:
    accounts = StaticAccounts({"101#0": "123456", "102": "123456"})
    server = SipServer(realm="VDP", accounts=accounts, min_expires=1, max_expires=2)
    await server.start("127.0.0.1", 0)
    yield server
    await server.close()


async def test_reregisters_at_half_the_granted_expiry(server: SipServer, tmp_path: Path) -> None:
    with running_vth(tmp_path, room="101#0", sip_server=("127.0.0.1", server.port)) as vth:
        link = vth.thread.runtime.sip
        await eventually_async(
            lambda: link.register_count >= 4, what="four registrations (2 s granted)", timeout=30
        )
        assert link.granted == 2 and vth.unit.registered
        assert server.location.is_online("101#0")


async def test_interval_too_brief_is_retried_with_min_expires(
    server: SipServer, tmp_path: Path
) -> None:
    server.registrar.min_expires, server.registrar.max_expires = 90, 3600
    server.registrar.strict_min = True  # answers 423 Min-Expires: 90 to our 60
    with running_vth(tmp_path, room="101#0", sip_server=("127.0.0.1", server.port)) as vth:
        await eventually_async(lambda: vth.unit.registered, what="registration", timeout=30)
        assert vth.thread.runtime.sip.granted == 90


async def test_wrong_password_offline_and_room_change_registers_again(
    server: SipServer, tmp_path: Path
) -> None:
    with running_vth(
        tmp_path, room="101#0", sip_server=("127.0.0.1", server.port), sip_password="bad"
    ) as vth:
        await eventually_async(lambda: vth.unit.register_error, what="the refusal", timeout=30)
        status = await asyncio.to_thread(vth.status)
        assert status["registered"] is False and "403" in status["register_error"]
        fixed = await asyncio.to_thread(
            httpx.get,
            f"{vth.url}/cgi-bin/configManager.cgi",
            params={"action": "setConfig", "SIP.SIPServerPassword": "123456", "SIP.UserID": "102"},
            auth=vth.auth(),
        )
        assert fixed.text.strip() == "OK"
        await eventually_async(
            lambda: server.location.is_online("102") and vth.unit.registered,
            what="registration as room 102",
            timeout=30,
        )
        assert vth.unit.settings.room == "102"


async def test_dahua_cgi_subset(server: SipServer, tmp_path: Path) -> None:
    with running_vth(tmp_path, room="101#0", sip_server=("127.0.0.1", server.port)) as vth:
        async with httpx.AsyncClient(base_url=vth.url, auth=vth.auth(), timeout=10) as client:

            async def cgi(cgi_name: str, **params: str) -> httpx.Response:
                return await client.get(f"/cgi-bin/{cgi_name}.cgi", params=params)

            assert (await cgi("magicBox", action="getDeviceType")).text == "type=VTH5421H\r\n"
            assert (await cgi("magicBox", action="getDeviceClass")).text == "type=VTH\r\n"
            await eventually_async(lambda: vth.unit.registered, what="registration", timeout=30)
            sip = (await cgi("configManager", action="getConfig", name="SIP")).text
            assert "table.SIP.UserID=101#0" in sip and "table.SIP.Registered=true" in sip
            ok = await cgi(
                "configManager",
                action="setConfig",
                **{
                    "VideoTalkPhoneGeneral.RingTime": "45",
                    "VideoTalkPhoneGeneral.AutoAnswer": "true",
                },
            )
            assert ok.text.strip() == "OK"
            assert vth.unit.settings.ring_time_s == 45 and vth.unit.settings.auto_answer
            bad = await cgi("configManager", action="setConfig", **{"SIP.UserID": "101#100"})
            assert bad.status_code == 400 and "1-99 (extension VTH)" in bad.text
            assert vth.unit.settings.room == "101#0"  # nothing half-applied
            too_long = await cgi(
                "configManager",
                action="setConfig",
                **{
                    "VideoTalkPhoneGeneral.RingTime": "500",
                    "VideoTalkPhoneGeneral.DoNotDisturb": "true",
                },
            )
            assert too_long.status_code == 400 and "ring time must be 1-120 s" in too_long.text
            assert vth.unit.settings.dnd is False
            caps = (await cgi("eventManager", action="getCaps")).text
            assert "caps.Invite=true" in caps
            async with client.stream(
                "GET", "/cgi-bin/eventManager.cgi", params={"action": "attach", "codes": "[All]"}
            ) as stream:
                vth.on_loop(lambda: vth.unit.receive_information("Lift", "out of order"))
                seen = b""
                async for chunk in stream.aiter_bytes():
                    seen += chunk
                    if b"InformationRelease" in seen:
                        break
            assert b"Code=InformationRelease;action=Pulse" in seen
            found = (await cgi("recordFinder", action="find", name="Message")).text
            assert "found=1" in found and "records[0].Subject=Lift" in found
            later = await cgi(
                "messageManager",
                action="releaseInformation",
                Subject="Water",
                Content="No water on Monday",
                StartTime="2099-01-05 08:00:00",
            )
            assert later.text.strip() == "OK"
            assert [m.subject for m in vth.unit.shown_messages()] == ["Lift"]  # not yet
            bad = await cgi(
                "messageManager", action="releaseInformation", Subject="x", StartTime="soon"
            )
            assert bad.status_code == 400 and "YYYY-MM-DD HH:MM:SS" in bad.text


async def test_platform_registration_number_with_building_and_unit(tmp_path: Path) -> None:
    """Platform manual 2.2: 11#01#11#5 = building 11, unit 01, room 11, extension 5."""
    from openpss.protocols.sip.transport import Peer
    from openpss.protocols.sip.ua import CallFailed, UserAgent

    accounts = StaticAccounts({"11#01#11#5": "vth-pw", "9901": "centre-pw"})
    platform = SipServer(realm="openpss", accounts=accounts)
    await platform.start("127.0.0.1", 0)
    centre = UserAgent(
        username="9901",
        password="centre-pw",
        server=Peer("UDP", "127.0.0.1", platform.port),
        domain="127.0.0.1",
    )
    try:
        with running_vth(
            tmp_path,
            room="11#01#11#5",
            sip_server=("127.0.0.1", platform.port),
            realm="",
            sip_password="vth-pw",
        ) as vth:
            await eventually_async(
                lambda: vth.unit.registered,
                what="registration with the platform's number",
                timeout=30,
            )
            assert platform.location.is_online("11#01#11#5")
            await centre.start("127.0.0.1", 0)
            await centre.register()
            dialing = asyncio.create_task(centre.call("11#01#11#5", b""))
            await eventually_async(
                lambda: vth.unit.call_state.value == "ringing", what="the VTH ringing", timeout=30
            )
            assert vth.unit.call_peer == "9901"
            await asyncio.to_thread(vth.control, "reject")
            with pytest.raises(CallFailed, match="486"):
                await dialing
    finally:
        await centre.close()
        await platform.close()
