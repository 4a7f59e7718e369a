"""Unlock passwords per room (platform-video-intercom 2.3): sent to the room's virtual VTO and
VTH with a sending status per device; room + password on the VTO keypad then opens the door."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.intercom import delivery, passwords, rooms
from openpss.platform.intercom.errors import Conflict, IntercomError
from openpss.platform.intercom.models import SendStatus, UnlockPasswordSend
from openpss.platform.settings import Settings
from tests.support.unlock_passwords import ACTOR, seed_device, seed_registration, seed_room
from tests.support.vth_device import VTH_PASSWORD, running_vth
from tests.support.vto_device import VTO_PASSWORD, RunningVto, running_vto


def _set(session: Session, settings: Settings, room: int, password: str) -> None:
    passwords.set_password(
        session=session,
        actor=ACTOR,
        secret_key=settings.secret_key,
        room_id=room,
        password=password,
        confirm=password,
    )
    session.commit()


def _keypad(vto: RunningVto, keys: str) -> bool:
    """Type on the VTO keypad (as `openpss device vto keypad`); True when the door opened."""
    response = vto.control("keypad", keys=keys)
    assert response.status_code == 200, response.text
    return bool(response.json()["result"][-1]["unlock"]["opened"])


def _statuses(session: Session, room: int) -> dict[str, tuple[str, str]]:
    session.expire_all()
    return {
        str(s["device_name"]): (str(s["status"]), str(s["reason"]))
        for s in passwords.sending_status(session=session, room_id=room)
    }


async def test_unlock_password_reaches_vto_and_vth_and_opens_the_door(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    with (
        running_vto(tmp_path / "vto") as vto,
        running_vth(tmp_path / "vth", room="11", sip_server=None) as vth,
    ):
        unit, room = seed_room(session)
        gate = seed_device(session, settings, "gate", "vto", vto.url, VTO_PASSWORD)
        hall = seed_device(session, settings, "hall", "vth", vth.url, VTH_PASSWORD)
        seed_registration(session, settings, kind="vth", device_id=hall.id, room_id=room)
        seed_registration(
            session,
            settings,
            kind="vto",
            device_id=gate.id,
            node_id=unit,
            suffix="55",
            device_number="8055",
        )
        _set(session, settings, room, "888888")
        assert _statuses(session, room) == {"gate": ("pending", ""), "hall": ("pending", "")}
        assert await delivery.deliver_due(session=session, settings=settings) == 2
        assert _statuses(session, room) == {"gate": ("sent", ""), "hall": ("sent", "")}
        assert vth.unit.unlock_passwords == {"11": "888888"}
        opened = vto.control("keypad", keys="000011888888#")
        assert opened.status_code == 200, opened.text
        assert opened.json()["result"][-1]["unlock"]["opened"] is True
        assert not _keypad(vto, "000011123456#")
        # A changed password replaces the old one on the door station.
        _set(session, settings, room, "246810")
        await delivery.deliver_due(session=session, settings=settings)
        assert not _keypad(vto, "000011888888#")
        assert _keypad(vto, "000011246810#")
        with pytest.raises(Conflict, match="room 11 cannot be deleted"):
            rooms.delete_room(session=session, actor=ACTOR, room_id=room)
        # A deleted password stops opening the door: the VTO forgets the room's access user.
        passwords.delete_password(session=session, actor=ACTOR, room_id=room)
        session.commit()
        assert _statuses(session, room) == {"gate": ("pending", "")}  # nothing to send a VTH
        with pytest.raises(Conflict, match="still being removed from the VTO"):
            rooms.delete_room(session=session, actor=ACTOR, room_id=room)
        assert await delivery.deliver_due(session=session, settings=settings) == 1
        assert _statuses(session, room) == {"gate": ("sent", "")}
        assert not _keypad(vto, "000011246810#")


async def test_offline_device_fails_with_reason_retries_with_backoff_and_send_again(
    session: Session, settings: Settings
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    _, room = seed_room(session)
    hall = seed_device(session, settings, "hall", "vth", url, "pw")
    seed_registration(session, settings, kind="vth", device_id=hall.id, room_id=room)
    _set(session, settings, room, "888888")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=1)
    assert await delivery.deliver_due(session=session, settings=settings, now=now) == 1
    status, reason = _statuses(session, room)["hall"]
    assert status == "failed" and reason
    send = session.scalars(select(UnlockPasswordSend)).one()
    assert send.attempts == 1 and send.next_attempt_at == now + dt.timedelta(seconds=30)
    # Not due again before the backoff ends; due after it.
    assert await delivery.deliver_due(session=session, settings=settings, now=now) == 0
    later = now + dt.timedelta(seconds=31)
    assert await delivery.deliver_due(session=session, settings=settings, now=later) == 1
    session.expire_all()
    send = session.scalars(select(UnlockPasswordSend)).one()
    assert send.attempts == 2 and send.next_attempt_at == later + dt.timedelta(seconds=60)
    assert passwords.send_again(session=session, actor=ACTOR, room_id=room) == 1
    session.expire_all()
    assert session.scalars(select(UnlockPasswordSend)).one().status is SendStatus.pending


def test_password_rules(session: Session, settings: Settings) -> None:
    _, room = seed_room(session)
    for bad, confirm, message in [
        ("12ab56", "12ab56", "must be 4-8 digits"),
        ("123", "123", "must be 4-8 digits"),
        ("888888", "888889", "confirmation differ"),
    ]:
        with pytest.raises(IntercomError, match=message):
            passwords.set_password(
                session=session,
                actor=ACTOR,
                secret_key=settings.secret_key,
                room_id=room,
                password=bad,
                confirm=confirm,
            )
    with pytest.raises(IntercomError, match="room 11 has no unlock password"):
        passwords.send_again(session=session, actor=ACTOR, room_id=room)
