"""The Textual facade: the configured modules top to bottom, showing state, taking input.

Camera module (its call key), then each module of the Facade Layout in order: button modules
(one button per call key with the room number and its name), keyboard (digits, #, *, call,
centre), card reader (card number + swipe), fingerprint reader (template file + present),
indicator module (call / talk / unlock), display (VTO number, call, door, last message); below,
the user port: exit button, door sensor, tamper switch.
Every input goes through the same model methods as the control endpoint.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Static

from openpss.devices.vto.entities import CENTRE_NUMBER, LIGHT_UNLOCK, CallState, VtoError
from openpss.devices.vto.facade import Module, ModuleType
from openpss.devices.vto.model import DoorStation

KEYPAD = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]


class FacadeApp(App[None]):
    """The door station's front, for a person at the door."""

    CSS = """
    .module { border: round $accent; padding: 0 1; margin: 0 0 1 0; height: auto; }
    .keys { grid-size: 3; grid-gutter: 0 1; height: auto; }
    .lamp { width: 1fr; content-align: center middle; }
    .on { background: $success; color: $text; }
    #display { height: auto; }
    .module Horizontal { height: auto; }
    """
    BINDINGS: ClassVar = [("q", "quit", "Quit")]

    def __init__(self, station: DoorStation, *, refresh_s: float = 0.2) -> None:
        super().__init__()
        self.station = station
        self.refresh_s = refresh_s
        self.message = "ready"

    def compose(self) -> ComposeResult:
        """One box per module, in facade order."""
        key = 0
        with VerticalScroll():
            for position, module in enumerate(self.station.facade.modules):
                with Vertical(classes="module", id=f"module-{position}"):
                    yield Label(f"{position + 1}. {module.type.value} module")
                    yield from self._module_widgets(module, key)
                key += len(module.keys)
            with Vertical(classes="module", id="user-port"):
                yield Label("user port (behind the wall)")
                with Horizontal():
                    yield _button("exit button", "exit-button")
                    yield _button("door open/close", "door")
                    yield _button("detach/mount", "tamper")
        yield Footer()

    def _module_widgets(self, module: Module, first_key: int) -> ComposeResult:
        kind = module.type
        if module.keys:
            for offset, room in enumerate(module.keys):
                number = first_key + offset + 1
                yield _button(self._key_label(number, room), f"key-{number}")
        if kind is ModuleType.keyboard:
            with Grid(classes="keys"):
                for key in KEYPAD:
                    name = "hash" if key == "#" else "star" if key == "*" else key
                    yield _button(key, f"pad-{name}")
            with Horizontal():
                for name in ("call", "centre"):
                    yield _button(name, f"pad-{name}")
        elif kind is ModuleType.card:
            yield Input(placeholder="card number", id="card-no")
            yield _button("swipe", "swipe")
        elif kind is ModuleType.fingerprint:
            yield Input(placeholder="template file", id="finger-file")
            yield _button("present finger", "finger")
        elif kind is ModuleType.indicator:
            with Horizontal():
                for lamp in ("call", "talk", "unlock"):
                    yield Static(lamp, classes="lamp", id=f"lamp-{lamp}")
        if kind in (ModuleType.display, ModuleType.camera):
            yield Static("", id="display" if kind is ModuleType.display else "camera-status")

    def _key_label(self, number: int, room: str) -> str:
        if not room:
            return f"[{number}] (not set)"
        if room == CENTRE_NUMBER:
            return f"[{number}] management centre"
        entry = self.station.directory.rooms.get(room)
        name = f" {entry.first_name} {entry.last_name}".rstrip() if entry else ""
        return f"[{number}] {room}{name}"

    def on_mount(self) -> None:
        """Refresh the lamps and display while the app runs."""
        self.set_interval(self.refresh_s, self.show_state)
        self.show_state()

    def show_state(self) -> None:
        """Indicators and display follow the model."""
        s = self.station
        lamps = {
            "call": s.call_state is CallState.ringing,
            "talk": s.call_state is CallState.talking,
            "unlock": s.unlocked or s.backlight == LIGHT_UNLOCK,
        }
        for lamp, on in lamps.items():
            for widget in self.query(f"#lamp-{lamp}"):
                widget.set_class(on, "on")
        text = (
            f"VTO {s.settings.vto_number}  call: {s.call_state.value} {s.call_peer}\n"
            f"door: {'open' if s.door_open else 'closed'}  lock: "
            f"{'open' if s.unlocked else 'locked'}  keys: {s.keypad_buffer}\n{self.message}"
        )
        for widget in self.query("#display, #camera-status"):
            if isinstance(widget, Static):
                widget.update(text)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Map a button to the model."""
        name = event.button.id or ""
        try:
            self.message = self._press(name)
        except (VtoError, OSError) as exc:
            self.message = f"refused: {exc}"
        self.show_state()

    def _press(self, name: str) -> str:
        s = self.station
        if name.startswith("key-"):
            s.press_button(int(name.removeprefix("key-")))
            return f"call key {name[4:]}: {s.call_state.value}"
        if name.startswith("pad-"):
            key = {"hash": "#", "star": "*"}.get(name[4:], name[4:])
            return _describe(s.press_key(key))
        if name == "swipe":
            card = self.query_one("#card-no", Input).value
            return s.swipe(card).message
        if name == "exit-button":
            return s.press_exit_button().message
        if name == "door":
            s.set_door(open_=not s.door_open)
            return f"door {'open' if s.door_open else 'closed'}"
        if name == "tamper":
            s.set_tamper(detached=not s.tamper_detached)
            return "tamper alarm!" if s.tamper_detached else "mounted"
        if name == "finger":
            path = Path(self.query_one("#finger-file", Input).value)
            return s.present_finger(path.read_bytes()).message
        return ""


def _button(label: str, name: str) -> Button:
    """A hardware button: no click animation, so presses in quick succession all count."""
    button = Button(label, id=name)
    button.active_effect_duration = 0
    return button


def _describe(result: dict[str, Any]) -> str:
    if "unlock" in result:
        return str(result["unlock"].message)
    if "call" in result:
        return f"calling ({result['call']})"
    return f"keys: {result.get('buffer', '')}"


def template_b64(path: Path) -> str:
    """A fingerprint template file as base64 (for the control endpoint)."""
    return base64.b64encode(path.read_bytes()).decode()
