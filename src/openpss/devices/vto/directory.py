"""Room No. Management and VTO No. Management (manual 4.2.5, 4.2.6), with no I/O.

``Directory`` holds the room list (VTH accounts) and the VTO list the unit keeps while it is
the SIP server. Rules:

- a room number is 1-6 letters or digits; ``101#0`` is the master VTH of room 101 and
  ``101#1`` ... ``101#99`` its extensions, at most 10 of them (manual 4.2.6);
- a room number cannot equal any VTO number (manual 4.2.2, 4.2.6);
- a plain ``101`` (one VTH) and ``101#N`` entries cannot both exist for one room;
- batch add builds rooms from unit layer amount, rooms per layer, first and second floor
  numbers (floor k starts at first + (k - 1) * (second - first));
- VTO numbers are 1-5 digits; Build No. and Unit No. are available only when another server
  is the SIP server (manual Table 4-2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from openpss.devices.vto.entities import (
    MAX_EXTENSIONS,
    MAX_NAME_LENGTH,
    MAX_ROOM_NUMBER_LENGTH,
    MAX_ROOMS,
    MAX_VTOS,
    NotFoundError,
    Room,
    VtoEntry,
    VtoError,
    check_vto_number,
    split_room_entry,
)

MAX_LAYERS = 99  # ours: unit layer amount 1-99
MAX_ROOMS_PER_LAYER = 99  # ours: room amount in one layer 1-99


@dataclass
class Directory:
    """The room list and the VTO list of a unit acting as SIP server."""

    rooms: dict[str, Room] = field(default_factory=dict)
    vtos: dict[str, VtoEntry] = field(default_factory=dict)

    # --- rooms ---------------------------------------------------------------------------

    def check_room(self, room: Room, *, replacing: str | None = None) -> Room:
        """Validate one room entry against the others (manual 4.2.6)."""
        base, suffix = split_room_entry(room.number)
        for name in ("first_name", "last_name", "nick_name"):
            if len(getattr(room, name)) > MAX_NAME_LENGTH:
                raise VtoError(f"{name.replace('_', ' ')} is longer than {MAX_NAME_LENGTH}")
        if room.register_type != "public":
            raise VtoError("register type must be public; local is reserved (manual 4.2.6)")
        if base in self.vtos:
            raise VtoError(f"room number {base} is a VTO number; choose another (manual 4.2.6)")
        others = [r for n, r in self.rooms.items() if n != replacing]
        if any(r.number == room.number for r in others):
            raise VtoError(f"room number {room.number} already exists")
        same_room = [split_room_entry(r.number)[1] for r in others if r.base == base]
        if same_room and (suffix is None or None in same_room):
            raise VtoError(
                f"room {base} has several VTHs: number them {base}#0 (master) and "
                f"{base}#1.. (extensions) instead of a plain {base}"
            )
        if suffix is not None and suffix > 0:
            extensions = [s for s in same_room if s]
            if len(extensions) >= MAX_EXTENSIONS:
                raise VtoError(
                    f"room {base} already has {MAX_EXTENSIONS} extension VTHs, the most one "
                    "master VTH can have (manual 4.2.6)"
                )
        return room

    def add_room(self, room: Room) -> Room:
        """Add one room entry."""
        self._check_room_capacity(1)
        self.rooms[room.number] = self.check_room(room)
        return room

    def update_room(self, number: str, room: Room) -> Room:
        """Replace a room entry (the number may change)."""
        if number not in self.rooms:
            raise NotFoundError(f"room {number} does not exist")
        self.check_room(room, replacing=number)
        del self.rooms[number]
        self.rooms[room.number] = room
        return room

    def remove_room(self, number: str) -> None:
        """Delete one room entry."""
        if self.rooms.pop(number, None) is None:
            raise NotFoundError(f"room {number} does not exist")

    def clear_rooms(self) -> int:
        """Delete every room (the Clear button); returns how many."""
        count = len(self.rooms)
        self.rooms.clear()
        return count

    def batch_add(
        self, *, layers: int, rooms_per_layer: int, first_floor: int, second_floor: int
    ) -> list[Room]:
        """Add rooms for a whole unit (manual 4.2.6, Add in batch); all or nothing."""
        numbers = batch_numbers(
            layers=layers,
            rooms_per_layer=rooms_per_layer,
            first_floor=first_floor,
            second_floor=second_floor,
        )
        self._check_room_capacity(len(numbers))
        trial = Directory(dict(self.rooms), dict(self.vtos))
        added = [trial.add_room(Room(number)) for number in numbers]
        self.rooms = trial.rooms
        return added

    def _check_room_capacity(self, incoming: int) -> None:
        if len(self.rooms) + incoming > MAX_ROOMS:
            raise VtoError(
                f"the room list holds at most {MAX_ROOMS} entries; {len(self.rooms)} are used"
            )

    def accounts_of(self, number: str) -> list[Room]:
        """The VTHs a dialled room number rings: every entry of the room (group call)."""
        if number in self.rooms:
            room = self.rooms[number]
            if split_room_entry(number)[1] is not None:
                return [room]
        try:
            base, _ = split_room_entry(number)
        except VtoError:
            return []
        return sorted((r for r in self.rooms.values() if r.base == base), key=_room_order)

    def room_bases(self) -> set[str]:
        """Every room (``101`` for ``101#0`` and ``101#1``)."""
        return {room.base for room in self.rooms.values()}

    # --- VTOs ----------------------------------------------------------------------------

    def put_vto(self, entry: VtoEntry, *, server_is_self: bool) -> VtoEntry:
        """Add or replace a VTO No. Management entry (manual Table 4-2)."""
        check_vto_number(entry.rec_no)
        if server_is_self and (entry.build_no or entry.unit_no):
            raise VtoError(
                "Build No. and Unit No. are available only when another server is the SIP "
                "server (manual Table 4-2)"
            )
        if entry.rec_no in self.room_bases():
            raise VtoError(f"VTO number {entry.rec_no} is a room number (manual 4.2.2)")
        if entry.rec_no not in self.vtos and len(self.vtos) >= MAX_VTOS:
            raise VtoError(f"the VTO list holds at most {MAX_VTOS} entries")
        self.vtos[entry.rec_no] = entry
        return entry

    def remove_vto(self, rec_no: str, *, own_number: str) -> None:
        """Delete a VTO entry; the SIP server itself must stay listed (manual 4.2.5 step 3)."""
        if rec_no == own_number:
            raise VtoError("the SIP server itself must stay in VTO No. Management (manual 4.2.5)")
        if self.vtos.pop(rec_no, None) is None:
            raise NotFoundError(f"VTO {rec_no} does not exist")

    # --- persistence ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "rooms": [asdict(r) for r in self.rooms.values()],
            "vtos": [asdict(v) for v in self.vtos.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Directory:
        """Inverse of ``to_json``."""
        rooms = [Room(**r) for r in data.get("rooms", [])]
        vtos = [VtoEntry(**v) for v in data.get("vtos", [])]
        return cls({r.number: r for r in rooms}, {v.rec_no: v for v in vtos})


def _room_order(room: Room) -> tuple[str, int]:
    base, suffix = split_room_entry(room.number)
    return base, -1 if suffix is None else suffix


def batch_numbers(
    *, layers: int, rooms_per_layer: int, first_floor: int, second_floor: int
) -> list[str]:
    """Room numbers of a batch add: floor k starts at first + (k - 1) * (second - first)."""
    if not 1 <= layers <= MAX_LAYERS:
        raise VtoError(f"unit layer amount must be 1-{MAX_LAYERS}, not {layers}")
    if not 1 <= rooms_per_layer <= MAX_ROOMS_PER_LAYER:
        raise VtoError(f"room amount in one layer must be 1-{MAX_ROOMS_PER_LAYER}")
    if first_floor < 1:
        raise VtoError("first floor number must be at least 1")
    step = second_floor - first_floor
    if layers > 1 and step < rooms_per_layer:
        raise VtoError(
            f"second floor number must be at least first floor number + room amount in one "
            f"layer ({first_floor + rooms_per_layer}), or the floors' numbers overlap"
        )
    numbers = [
        str(first_floor + floor * step + room)
        for floor in range(layers)
        for room in range(rooms_per_layer)
    ]
    longest = max(numbers, key=len)
    if len(longest) > MAX_ROOM_NUMBER_LENGTH:
        raise VtoError(
            f"the batch would create room {longest}, longer than {MAX_ROOM_NUMBER_LENGTH} "
            "characters (manual 4.2.6)"
        )
    return numbers


def parse_rooms(numbers: Iterable[str]) -> list[Room]:
    """Room entries from plain numbers."""
    return [Room(str(number).strip()) for number in numbers]
