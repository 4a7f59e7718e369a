"""The VTH's Textual screen under Textual's pilot: a call from our door station rings on the
screen, the answer button answers it (video arrives), unlock opens the VTO's door; messages
and records are shown; standby shows the room and registration."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import Static

from openpss.devices.vth.model import IndoorMonitor, NoLink
from openpss.devices.vth.runtime import Ports, VthRuntime
from openpss.devices.vth.screen import VthScreen
from openpss.devices.vth.store import open_monitor
from openpss.devices.vto.sip import attach_sip
from tests.support.polling import eventually_async
from tests.support.vto_device import running_vto


def text(app: VthScreen, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_screen_answers_a_vto_call_and_unlocks(tmp_path: Path) -> None:
    with running_vto(
        tmp_path / "vto",
        fps=10,
        stream_sizes={0: (320, 180), 1: (320, 180)},
        extra_services=[attach_sip],
    ) as vto:
        vto.control("rooms", add=[{"number": "101"}])
        vto.control("facade", modules=[{"type": "button1", "keys": ["101"]}])
        for _ in range(500):
            if vto.thread.runtime.sip_server is not None:
                break
            await asyncio.sleep(0.02)
        unit, store = open_monitor(tmp_path / "vth")
        unit.set_admin_password("Secret123")
        unit.set_sip_server(
            "127.0.0.1", vto.thread.runtime.sip_server.port, realm="VDP", password="123456"
        )
        unit.set_room("101")
        runtime = VthRuntime(unit, Ports(http=0, sip=0))
        served = asyncio.create_task(runtime.run())  # same loop as the screen, as --screen does
        app = VthScreen(unit, refresh_s=0.05)
        try:
            async with app.run_test(size=(100, 60)) as pilot:
                await eventually_async(lambda: unit.registered, what="registration", timeout=60)
                await pilot.pause(0.2)
                assert text(app, "#standby").startswith("Room 101  online")
                await asyncio.to_thread(vto.control, "press", button=2)
                await eventually_async(
                    lambda: unit.call_state.value == "ringing", what="the call ringing", timeout=60
                )
                await pilot.pause(0.2)
                assert text(app, "#call") == "incoming call from 8001"
                await pilot.click("#answer")
                assert unit.call_state.value == "talking"
                await eventually_async(
                    lambda: unit.rtp["video_frames"] >= 3, what="video on the screen", timeout=60
                )
                await pilot.pause(0.2)
                assert "talking with 8001" in text(app, "#call")
                await pilot.click("#unlock")
                await eventually_async(
                    lambda: vto.station.find_records("unlock"), what="the VTO's door", timeout=60
                )
                await pilot.click("#hangup")
                assert unit.call_state.value == "idle"
                await pilot.pause(0.2)
                assert "call Incoming 8001 Received" in text(app, "#records")
        finally:
            served.cancel()
            await asyncio.gather(served, return_exceptions=True)
            store.close()


async def test_screen_dial_dnd_and_messages() -> None:
    unit = IndoorMonitor(serial="VTHSCREEN")
    unit.set_room("101#1")
    unit.set_registered(True)
    unit.receive_information("Lift", "Lift B is out of order")
    unit.receive_unlock_password("101", "888888")
    app = VthScreen(unit)
    async with app.run_test(size=(100, 60)) as pilot:
        messages = text(app, "#messages")
        assert "Unlock password: 888888" in messages and "Lift: Lift B is out of order" in messages
        await pilot.click("#dnd")
        assert unit.settings.dnd and "do not disturb" in text(app, "#standby")
        await pilot.click("#number")
        await pilot.press("1", "0", "2")
        await pilot.click("#call-number")
        assert isinstance(unit.link, NoLink) and unit.link.sent[-1][2] == "102"
        assert text(app, "#call") == "calling 102"
        await pilot.click("#answer")
        assert "refused: no incoming call" in text(app, "#standby")
