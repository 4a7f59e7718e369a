"""The demo's call group (`openpss demo`): building 01's group gets the administrator as its
manager client, so the door station's centre call rings the administrator's consoles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.intercom import callgroups
from openpss.platform.intercom.demo import GROUP_NAME, seed_demo_intercom
from openpss.platform.intercom.models import CallGroup
from openpss.platform.security.models import Role
from openpss.platform.settings import Settings
from tests.conftest import add_account


def _seed(session: Session, settings: Settings) -> list[str]:
    seed_demo_intercom(
        session=session, settings=settings, vto_port=37800, vth_port=37810, password="Demo#1x"
    )
    group = session.scalars(select(CallGroup).where(CallGroup.name == GROUP_NAME)).one()
    return callgroups.member_usernames(session, group.id)


def test_demo_group_gets_the_administrator_once_there_is_one(
    session: Session, settings: Settings
) -> None:
    assert _seed(session, settings) == []  # before the first start: no administrator yet
    add_account(session, "operator1", Role.operator, "Str0ng!Passw0rd")
    add_account(session, "zed", Role.administrator, "Str0ng!Passw0rd")
    add_account(session, "admin", Role.administrator, "Str0ng!Passw0rd")
    assert _seed(session, settings) == ["admin"]
    assert _seed(session, settings) == ["admin"]  # idempotent
    # the door station's and the monitors' centre calls ring the administrator's consoles
    routes = callgroups.centre_routes(session)
    assert set(routes) == {"01#01#8001", "01#01#101#0", "01#01#101#1"}
    assert set(map(tuple, routes.values())) == {("888888/admin",)}
