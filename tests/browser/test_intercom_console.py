"""The intercom console pages in a real browser: a room gets its unlock password through the
building manager's form, and the pages with data fit 1366x768."""

from __future__ import annotations

from typing import Any

from openpss.platform.devices.models import Device
from openpss.platform.intercom import buildings, registrations, rooms
from openpss.platform.intercom.schemas import (
    NodeCreate,
    RegistrationCreate,
    RoomCreate,
    RoomQuery,
)
from openpss.platform.security.audit import Actor
from tests.browser.helpers import initialize_and_login
from tests.support.page_layout import VIEWPORT, page_overflow

ACTOR = Actor("tester")


def _seed(app: Any) -> int:
    with app.state.session_factory() as s:
        community = buildings.get_community(session=s)
        b = buildings.add_node(
            session=s, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
        )
        u = buildings.add_node(session=s, actor=ACTOR, data=NodeCreate(parent_id=b.id, number="1"))
        for number in ("11", "12", "302"):
            rooms.add_room(
                session=s,
                actor=ACTOR,
                data=RoomCreate(node_id=u.id, number=number, name=f"Family in room {number}"),
            )
        hall = Device(
            name="hall VTH of room 11",
            host="127.0.0.1",
            port=9,
            username="admin",
            password_encrypted="",
            kind="vth",
        )
        s.add(hall)
        s.flush()
        room = rooms.list_rooms(session=s, query=RoomQuery(node_id=u.id)).items[0]
        registrations.add_registration(
            session=s,
            actor=ACTOR,
            secret_key=app.state.settings.secret_key,
            data=RegistrationCreate(kind="vth", device_id=hall.id, room_id=room.id, extension=5),
        )
        s.commit()
        return u.id


def test_unlock_password_form_and_pages_fit(browser: Any, live_server: Any) -> None:
    unit = _seed(live_server.app)
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30000)
    try:
        initialize_and_login(page, live_server)
        page.goto(f"{live_server.url}/intercom/buildings?node={unit}")
        row = page.locator("#rooms tbody tr").first
        row.locator("input[name=password]").fill("888888")
        row.locator("input[name=confirm]").fill("888888")
        row.get_by_role("button", name="Add password").click()
        page.wait_for_load_state("networkidle")
        assert "Unlock password saved" in page.content()
        status = page.locator("#rooms tbody tr").first.locator(".sending-status").inner_text()
        assert "hall VTH of room 11:" in status  # pending, or failed once the delivery ran
        for path in (f"/intercom/buildings?node={unit}", "/intercom/dial", "/intercom/groups"):
            page.goto(f"{live_server.url}{path}")
            page.wait_for_load_state("networkidle")
            figures = page_overflow(page)
            assert figures["scroll"] <= figures["viewport"], (path, figures)
    finally:
        context.close()
