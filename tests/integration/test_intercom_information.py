"""Information release (platform-video-intercom 2.5) to a virtual VTH bound to the platform."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from openpss.platform.db import utcnow
from openpss.platform.devices.models import Device
from openpss.platform.intercom import delivery, information
from openpss.platform.intercom.errors import IntercomError
from openpss.platform.intercom.schemas import InformationCreate
from openpss.platform.security.audit import Actor
from openpss.platform.settings import Settings
from tests.support.unlock_passwords import seed_device, seed_registration, seed_room
from tests.support.vth_device import VTH_PASSWORD, running_vth

ACTOR = Actor("tester")


def _statuses(session: Session, info_id: int) -> list[tuple[str, str]]:
    session.expire_all()
    row = information.get_information(session=session, information_id=info_id)
    return [
        (d.device_name, d.status) for d in information.information_read(session, row).deliveries
    ]


async def test_release_sent_at_start_time_or_now_with_status_per_device(
    session: Session, settings: Settings, tmp_path: Path
) -> None:
    with running_vth(tmp_path / "vth", room="11", sip_server=None) as vth:
        _, room = seed_room(session)
        hall = seed_device(session, settings, "hall", "vth", vth.url, VTH_PASSWORD)
        unbound = Device(
            name="spare", host="127.0.0.1", username="admin", password_encrypted="", kind="vth"
        )
        session.add(unbound)
        session.flush()
        with pytest.raises(
            IntercomError, match="device\\(s\\) 'spare' have no registration number"
        ):
            information.save_information(
                session=session,
                actor=ACTOR,
                data=InformationCreate(
                    subject="Water", start_time=utcnow(), device_ids=[unbound.id]
                ),
            )
        seed_registration(session, settings, kind="vth", device_id=hall.id, room_id=room)
        start = utcnow() + dt.timedelta(hours=1)
        row = information.save_information(
            session=session,
            actor=ACTOR,
            data=InformationCreate(
                subject="Water cut", content="Tuesday 9-12", start_time=start, device_ids=[hall.id]
            ),
        )
        session.commit()
        # Not due before its start time ...
        assert await delivery.deliver_information_due(session=session, settings=settings) == 0
        assert _statuses(session, row.id) == [("hall", "pending")]
        # ... due at it.
        due = await delivery.deliver_information_due(
            session=session, settings=settings, now=start + dt.timedelta(seconds=1)
        )
        assert due == 1 and _statuses(session, row.id) == [("hall", "sent")]
        messages = [m for m in vth.unit.messages if m.kind != "unlock_password"]
        assert [(m.subject, m.text) for m in messages][-1] == ("Water cut", "Tuesday 9-12")
        # "Send" sends it again now.
        assert information.send_now(session=session, actor=ACTOR, information_id=row.id) == 1
        session.commit()
        assert await delivery.deliver_information_due(session=session, settings=settings) == 1
        assert _statuses(session, row.id) == [("hall", "sent")]
        information.delete_information(session=session, actor=ACTOR, information_id=row.id)
        assert information.list_information(session=session) == []
