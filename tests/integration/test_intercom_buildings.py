"""Building manager services (platform-video-intercom 2.1) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.intercom import buildings, rooms
from openpss.platform.intercom.errors import Conflict, IntercomError, NotFound
from openpss.platform.intercom.models import Level, OrgNode
from openpss.platform.intercom.schemas import (
    LevelsUpdate,
    NodeCreate,
    RoomCreate,
    RoomQuery,
    RoomUpdate,
)
from openpss.platform.security.audit import Actor
from openpss.platform.security.models import AuditEntry

ACTOR = Actor("tester", "127.0.0.1")


def _building_unit(session: Session, building: str = "2", unit: str = "1") -> OrgNode:
    community = buildings.get_community(session=session)
    b = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number=building)
    )
    return buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=b.id, number=unit)
    )


def test_organization_code_is_building_unit_room(session: Session) -> None:
    unit = _building_unit(session)
    room = rooms.add_room(
        session=session, actor=ACTOR, data=RoomCreate(node_id=unit.id, number="302", name="Smith")
    )
    assert rooms.room_read(session, room).organization == "02#01#302"
    tree = buildings.node_tree(session=session)
    assert tree.level is Level.community
    assert [(b.number, b.name) for b in tree.children] == [("02", "Building 02")]
    assert [(u.number, u.name) for u in tree.children[0].children] == [("01", "Unit 01")]
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["intercom.building.create", "intercom.unit.create", "intercom.room.create"]


def test_rooms_only_under_the_lowest_level(session: Session) -> None:
    unit = _building_unit(session)
    building_id = unit.parent_id
    assert building_id is not None
    with pytest.raises(IntercomError, match="rooms are added under a unit; Building 02 is not"):
        rooms.add_room(
            session=session, actor=ACTOR, data=RoomCreate(node_id=building_id, number="1")
        )
    with pytest.raises(IntercomError, match="nothing but rooms can be added under Unit 01"):
        buildings.add_node(
            session=session, actor=ACTOR, data=NodeCreate(parent_id=unit.id, number="3")
        )


def test_duplicate_numbers_refused(session: Session) -> None:
    unit = _building_unit(session)
    community = buildings.get_community(session=session)
    with pytest.raises(Conflict, match="already has Building 02"):
        buildings.add_node(
            session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="02")
        )
    rooms.add_room(session=session, actor=ACTOR, data=RoomCreate(node_id=unit.id, number="302"))
    with pytest.raises(Conflict, match="Unit 01 already has room 302"):
        rooms.add_room(session=session, actor=ACTOR, data=RoomCreate(node_id=unit.id, number="302"))
    with pytest.raises(IntercomError, match="number must be 1-99"):
        buildings.add_node(
            session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="0")
        )


def test_delete_refused_while_something_depends_on_it(session: Session) -> None:
    unit = _building_unit(session)
    room = rooms.add_room(
        session=session, actor=ACTOR, data=RoomCreate(node_id=unit.id, number="1")
    )
    assert unit.parent_id is not None
    with pytest.raises(Conflict, match="Building 02 still has 1 unit"):
        buildings.delete_node(session=session, actor=ACTOR, node_id=unit.parent_id)
    with pytest.raises(Conflict, match="Unit 01 still has 1 room"):
        buildings.delete_node(session=session, actor=ACTOR, node_id=unit.id)
    community = buildings.get_community(session=session)
    with pytest.raises(IntercomError, match="community cannot be deleted"):
        buildings.delete_node(session=session, actor=ACTOR, node_id=community.id)
    rooms.delete_room(session=session, actor=ACTOR, room_id=room.id)
    buildings.delete_node(session=session, actor=ACTOR, node_id=unit.id)
    buildings.delete_node(session=session, actor=ACTOR, node_id=unit.parent_id)
    assert buildings.node_tree(session=session).children == []


def test_room_dependents_block_delete_and_renumber(session: Session) -> None:
    unit = _building_unit(session)
    room = rooms.add_room(
        session=session, actor=ACTOR, data=RoomCreate(node_id=unit.id, number="1")
    )

    def has_registration(_: Session, checked: object) -> str:
        return "VTH 'hall' is registered to it" if checked is room else ""

    buildings.ROOM_DEPENDENTS.append(has_registration)
    try:
        with pytest.raises(Conflict, match="room 1 cannot be deleted: VTH 'hall' is registered"):
            rooms.delete_room(session=session, actor=ACTOR, room_id=room.id)
        with pytest.raises(Conflict, match="cannot be renumbered"):
            rooms.update_room(
                session=session, actor=ACTOR, room_id=room.id, data=RoomUpdate(number="2")
            )
        renamed = rooms.update_room(
            session=session, actor=ACTOR, room_id=room.id, data=RoomUpdate(name="Lobby")
        )
        assert renamed.name == "Lobby"
    finally:
        buildings.ROOM_DEPENDENTS.remove(has_registration)


def test_level_setting_decides_which_levels_exist(session: Session) -> None:
    with pytest.raises(IntercomError, match="unit level needs the building level"):
        buildings.set_levels(
            session=session, actor=ACTOR, data=LevelsUpdate(use_building=False, use_unit=True)
        )
    buildings.set_levels(
        session=session, actor=ACTOR, data=LevelsUpdate(use_building=True, use_unit=False)
    )
    community = buildings.get_community(session=session)
    building = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=community.id, number="11")
    )
    room = rooms.add_room(
        session=session, actor=ACTOR, data=RoomCreate(node_id=building.id, number="11")
    )
    assert rooms.room_read(session, room).organization == "11#11"
    with pytest.raises(Conflict, match="1 room\\(s\\) exist under the building level"):
        buildings.set_levels(
            session=session, actor=ACTOR, data=LevelsUpdate(use_building=True, use_unit=True)
        )
    rooms.delete_room(session=session, actor=ACTOR, room_id=room.id)
    with pytest.raises(Conflict, match="1 building\\(s\\) exist: delete them before turning"):
        buildings.set_levels(
            session=session, actor=ACTOR, data=LevelsUpdate(use_building=False, use_unit=False)
        )


def test_room_list_by_node_search_and_paging(session: Session) -> None:
    unit1 = _building_unit(session, "2", "1")
    assert unit1.parent_id is not None
    unit2 = buildings.add_node(
        session=session, actor=ACTOR, data=NodeCreate(parent_id=unit1.parent_id, number="2")
    )
    for number in ("101", "102", "103"):
        rooms.add_room(
            session=session, actor=ACTOR, data=RoomCreate(node_id=unit1.id, number=number)
        )
    rooms.add_room(
        session=session, actor=ACTOR, data=RoomCreate(node_id=unit2.id, number="201", name="100%")
    )
    listed = rooms.list_rooms(
        session=session, query=RoomQuery(node_id=unit1.parent_id, limit=2, offset=2)
    )
    assert listed.total == 4
    assert [r.organization for r in listed.items] == ["02#01#103", "02#02#201"]
    listed = rooms.list_rooms(session=session, query=RoomQuery(node_id=unit1.id, q="102"))
    assert (listed.total, [r.number for r in listed.items]) == (1, ["102"])
    listed = rooms.list_rooms(session=session, query=RoomQuery(q="0%"))
    assert [r.number for r in listed.items] == ["201"]  # % is literal text, not a wildcard
    with pytest.raises(NotFound, match="organization node 999 does not exist"):
        rooms.list_rooms(session=session, query=RoomQuery(node_id=999))


def test_room_number_digits_only() -> None:
    with pytest.raises(ValidationError):
        RoomCreate(node_id=1, number="1234567")
    with pytest.raises(ValidationError):
        RoomCreate(node_id=1, number="12a")
