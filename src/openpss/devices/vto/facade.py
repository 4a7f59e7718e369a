"""Facade layout (manual 4.2.7): which modules sit on the unit, in which order, and the room
each call key calls.

Rules enforced (manual 4.2.7 and 4.2.7.1):

- the camera module is always there, first (it is "designed by default"; it carries the
  microphone, speaker and one call key, Table 2-1 and 4.2.7.2);
- at most 9 added modules on VTO4202F-MB1/-MB2/-MB5, one on every other model;
- at most one fingerprint, one card swiping and one keyboard module;
- modules are listed top to bottom, left to right (the list order is the position);
- each call key maps to a room number or ``888888`` (the management centre).
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from openpss.devices.vto.entities import CENTRE_NUMBER, VtoError, split_room_entry

MULTI_MODULE_MODELS = ("VTO4202F-MB1", "VTO4202F-MB2", "VTO4202F-MB5")  # manual 4.2.7
MAX_MODULES_MULTI = 9  # manual 4.2.7: "9 modules at most to VTO4202F-MB1, MB2, MB5"
MAX_MODULES_OTHER = 1  # manual 4.2.7: "For VTOs of other modules, you can only add one"
MODELS = (
    "VTO4202F-P",
    "VTO4202F-MK",
    "VTO4202F-MB1",
    "VTO4202F-MB2",
    "VTO4202F-MB5",
    "VTO4202F-MR",
    "VTO4202F-MS",
    "VTO4202F-MF",
    "VTO4202F-ML",
    "VTO4202F-MA",
)  # manual, Foreword: Models


class ModuleType(enum.StrEnum):
    """The modules of manual chapter 2."""

    camera = "camera"
    indicator = "indicator"
    audio = "audio"
    button1 = "button1"
    button2 = "button2"
    button5 = "button5"
    keyboard = "keyboard"
    card = "card"
    fingerprint = "fingerprint"
    display = "display"
    blank = "blank"


CALL_KEYS = {ModuleType.camera: 1, ModuleType.button1: 1, ModuleType.button2: 2}
CALL_KEYS[ModuleType.button5] = 5
SINGLE_MODULES = (ModuleType.fingerprint, ModuleType.card, ModuleType.keyboard)  # manual 4.2.7


@dataclass
class Module:
    """One module and, for camera/button modules, the room number behind each call key."""

    type: ModuleType
    keys: list[str] = field(default_factory=list)  # "" for an unassigned key

    def to_json(self) -> dict[str, Any]:
        """JSON form (persistence, control API)."""
        return {"type": self.type.value, "keys": list(self.keys)}


@dataclass
class Facade:
    """The ordered modules of one unit (camera first)."""

    model: str
    modules: list[Module]

    def keys(self) -> list[str]:
        """Every call key's room number, numbered 1.. top to bottom, left to right."""
        return [room for module in self.modules for room in module.keys]

    def has(self, kind: ModuleType) -> bool:
        """True when a module of this type is on the facade."""
        return any(module.type is kind for module in self.modules)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"model": self.model, "modules": [m.to_json() for m in self.modules]}


def max_modules(model: str) -> int:
    """How many modules besides the camera this model takes."""
    return MAX_MODULES_MULTI if model in MULTI_MODULE_MODELS else MAX_MODULES_OTHER


def check_model(model: str) -> str:
    """One of the models the manual lists."""
    if model not in MODELS:
        raise VtoError(f"unknown model {model!r}; one of {', '.join(MODELS)}")
    return model


def _module_type(value: object) -> ModuleType:
    try:
        return ModuleType(str(value))
    except ValueError:
        names = ", ".join(t.value for t in ModuleType)
        raise VtoError(f"unknown module {value!r}; one of {names}") from None


def build_facade(
    model: str, modules: Iterable[dict[str, Any] | str], rooms: Iterable[str] | None = None
) -> Facade:
    """Validate a layout (top to bottom, left to right) and return it with the camera first.

    ``modules`` may omit the camera module (it is added); ``rooms`` is the room list keys
    must come from when known (the unit is the SIP server), else any valid room number.
    """
    check_model(model)
    parsed = [_parse_module(item) for item in modules]
    if parsed and parsed[0].type is ModuleType.camera:
        camera, rest = parsed[0], parsed[1:]
    else:
        camera, rest = Module(ModuleType.camera, [""]), parsed
    if any(m.type is ModuleType.camera for m in rest):
        raise VtoError("there is one camera module and it is always first (manual 4.2.7)")
    limit = max_modules(model)
    if len(rest) > limit:
        raise VtoError(
            f"{model} takes at most {limit} module(s) besides the camera, not {len(rest)} "
            "(manual 4.2.7)"
        )
    counts = Counter(m.type for m in rest)
    for kind in SINGLE_MODULES:
        if counts[kind] > 1:
            raise VtoError(f"only one {kind.value} module can be added (manual 4.2.7)")
    known = None if rooms is None else set(rooms)
    for module in (camera, *rest):
        for room in module.keys:
            check_key_room(room, known)
    return Facade(model, [camera, *rest])


def _parse_module(item: dict[str, Any] | str) -> Module:
    data = {"type": item} if isinstance(item, str) else dict(item)
    kind = _module_type(data.get("type"))
    count = CALL_KEYS.get(kind, 0)
    keys = [str(k).strip() for k in data.get("keys", [])]
    if len(keys) > count:
        raise VtoError(f"a {kind.value} module has {count} call key(s), not {len(keys)}")
    return Module(kind, keys + [""] * (count - len(keys)))


def check_key_room(room: str, known: set[str] | None) -> None:
    """A call key calls a room number of the room list, or the centre ``888888``."""
    if room in ("", CENTRE_NUMBER):
        return
    base, _ = split_room_entry(room)
    if known is not None and room not in known and base not in known:
        raise VtoError(
            f"call key room {room!r} is not in the room list; add it in Room No. Management "
            f"or use {CENTRE_NUMBER} for the management centre (manual 4.2.7.2)"
        )


def default_facade(model: str) -> Facade:
    """A fresh unit's facade: the camera module alone."""
    return build_facade(model, [])
