"""The Textual facade drives a call and an unlock (Textual's pilot)."""

from __future__ import annotations

from textual.widgets import Button

from openpss.devices.vto.entities import AccessUser, CallState, Room, SystemType
from openpss.devices.vto.facade_ui import FacadeApp
from openpss.devices.vto.model import DoorStation


def station() -> DoorStation:
    vto = DoorStation(serial="VTOUI")
    vto.set_system_type(SystemType.tcpip)
    vto.add_room(Room("101", first_name="Ann"))
    vto.set_facade(
        [{"type": "button2", "keys": ["101", "888888"]}, "keyboard", "card", "indicator", "display"]
    )
    vto.put_user(AccessUser("11", password="888888", cards={"CAFE": False}))
    return vto


async def test_facade_shows_modules_top_to_bottom() -> None:
    app = FacadeApp(station())
    async with app.run_test(size=(80, 100)):
        labels = [str(w.render()) for w in app.query("Label")]
        assert labels == [
            "1. camera module",
            "2. button2 module",
            "3. keyboard module",
            "4. card module",
            "5. indicator module",
            "6. display module",
            "user port (behind the wall)",
        ]
        assert str(app.query_one("#key-2", Button).label) == "[2] 101 Ann"
        assert str(app.query_one("#key-3", Button).label) == "[3] management centre"


async def test_facade_drives_a_call() -> None:
    vto = station()
    app = FacadeApp(vto)
    async with app.run_test(size=(80, 100)) as pilot:
        await pilot.click("#key-2")
        assert vto.call_state is CallState.ringing and vto.call_peer == "101"
        await pilot.pause()
        assert app.query_one("#lamp-call").has_class("on")
        vto.call_answered("101")
        app.show_state()
        assert app.query_one("#lamp-talk").has_class("on")
        await pilot.click("#key-2")
        assert vto.call_state is CallState.idle
        assert vto.find_records("call")[0].data["EndState"] == "Received"


async def test_facade_keypad_dials_and_unlocks() -> None:
    vto = station()
    app = FacadeApp(vto)
    async with app.run_test(size=(80, 100)) as pilot:
        for key in ["0", "0", "0", "0", "1", "1", "8", "8", "8", "8", "8", "8", "hash"]:
            await pilot.click(f"#pad-{key}")
        assert vto.find_records("unlock")[-1].data["UserID"] == "11"
        assert vto.unlocked and app.query_one("#lamp-unlock").has_class("on")
        assert "door opened" in str(app.query_one("#display").render())
        for key in ["1", "0", "1", "call"]:
            await pilot.click(f"#pad-{key}")
        assert vto.call_state is CallState.ringing
        await pilot.click("#pad-call")
        assert "refused" in app.message


async def test_facade_card_reader() -> None:
    vto = station()
    app = FacadeApp(vto)
    async with app.run_test(size=(80, 100)) as pilot:
        await pilot.click("#card-no")
        await pilot.press(*"cafe")
        await pilot.click("#swipe")
        assert vto.find_records("unlock")[-1].data["CardNo"] == "CAFE"
        assert app.message == "door opened"


async def test_user_port_exit_button_door_and_tamper() -> None:
    vto = station()
    app = FacadeApp(vto)
    async with app.run_test(size=(80, 100)) as pilot:
        await pilot.click("#exit-button")
        assert vto.find_records("unlock")[-1].data["Type"] == "Exit"
        await pilot.click("#door")
        assert vto.door_open and app.message == "door open"
        await pilot.click("#tamper")
        assert vto.alarm_sounding and app.message == "tamper alarm!"
        await pilot.click("#door")
        assert not vto.door_open
