"""The Textual screen of the indoor monitor: what a resident sees and touches.

Standby shows the room number and whether the unit is registered; an incoming call shows the
caller with answer / reject / unlock; talking shows the counters with hang up, mute and
unlock; Monitor > Door lists the door stations; a dial pad calls the centre, rooms and door
stations; messages (unlock passwords, information releases) and records are listed below.
Every button goes through the same model methods as the control endpoint.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Footer, Input, Label, Static

from openpss.devices.vth.entities import CENTRE_NUMBER, CallState, VthError
from openpss.devices.vth.model import IndoorMonitor

MAX_LISTED = 8  # records and messages shown on the screen (newest first)


class VthScreen(App[None]):
    """The VTH's touch screen."""

    CSS = """
    .panel { border: round $accent; padding: 0 1; margin: 0 0 1 0; height: auto; }
    Horizontal { height: auto; }
    .ringing { background: $warning; }
    .talking { background: $success; }
    """
    BINDINGS: ClassVar = [("q", "quit", "Quit")]

    def __init__(self, unit: IndoorMonitor, *, refresh_s: float = 0.2) -> None:
        super().__init__()
        self.unit = unit
        self.refresh_s = refresh_s
        self.message = ""

    def compose(self) -> ComposeResult:
        """Standby line, call panel, monitor, dial, messages, records."""
        with VerticalScroll():
            yield Static("", id="standby", classes="panel")
            with VerticalScroll(classes="panel", id="call-panel"):
                yield Static("", id="call")
                with Horizontal():
                    for name in ("answer", "reject", "unlock", "hangup", "mute"):
                        yield Button(name, id=name)
            with VerticalScroll(classes="panel"):
                yield Label("Monitor > Door")
                with Horizontal(id="doors"):
                    for door in self.unit.settings.doors:
                        yield Button(door, id=f"door-{door}")
            with VerticalScroll(classes="panel"):
                yield Input(placeholder=f"number ({CENTRE_NUMBER} = centre)", id="number")
                with Horizontal():
                    yield Button("call", id="call-number")
                    yield Button("centre", id="call-centre")
                    yield Button("do not disturb", id="dnd")
            yield Static("", id="messages", classes="panel")
            yield Static("", id="records", classes="panel")
        yield Footer()

    def on_mount(self) -> None:
        """Follow the model while the app runs.

        The panels are looked up once here: the refresh timer can still tick while the app
        shuts down and its widgets are already unmounted, and a lookup then would fail.
        """
        self._panels = {
            name: self.query_one(f"#{name}", Static)
            for name in ("standby", "call", "messages", "records")
        }
        self._call_panel = self.query_one("#call-panel")
        self.set_interval(self.refresh_s, self.show_state)
        self.show_state()

    def show_state(self) -> None:
        """Redraw every panel from the model."""
        u, s = self.unit, self.unit.settings
        online = "online" if u.registered else f"offline {u.register_error}".rstrip()
        dnd = "  do not disturb" if s.dnd else ""
        self._panels["standby"].update(f"Room {s.room}  {online}{dnd}\n{self.message}")
        self._panels["call"].update(self._call_text())
        self._call_panel.set_class(u.call_state is CallState.ringing, "ringing")
        self._call_panel.set_class(u.call_state is CallState.talking, "talking")
        lines = [f"{m.at:%m-%d %H:%M} {m.subject}: {m.text}" for m in u.shown_messages()]
        self._panels["messages"].update(
            "Messages\n" + ("\n".join(reversed(lines[-MAX_LISTED:])) or "(none)")
        )
        records = sorted(
            (r for kind in u.records.values() for r in kind), key=lambda r: r.at, reverse=True
        )[:MAX_LISTED]
        self._panels["records"].update(
            "Records\n" + ("\n".join(_record_line(r.kind, r.data) for r in records) or "(none)")
        )

    def _call_text(self) -> str:
        u = self.unit
        rtp = u.rtp
        if u.call_state is CallState.idle:
            return "standby"
        if u.call_state is CallState.ringing:
            return f"incoming call from {u.call_peer}"
        if u.call_state is CallState.calling:
            return f"calling {u.call_peer}"
        what = "monitoring" if u.call_state is CallState.monitoring else "talking with"
        mute = "  (muted)" if u.muted else ""
        return (
            f"{what} {u.monitor_door or u.call_peer}{mute}\nvideo {rtp['video_frames']} frames, "
            f"audio in {rtp['audio_in']} out {rtp['audio_out']}"
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Map a button to the model."""
        try:
            self.message = self._press(event.button.id or "")
        except VthError as exc:
            self.message = f"refused: {exc}"
        self.show_state()

    def _press(self, name: str) -> str:
        u = self.unit
        simple = {"answer": u.answer, "reject": u.reject, "hangup": u.hang_up}
        if name in simple:
            simple[name]()
            return name
        if name == "unlock":
            return f"unlock sent to {u.unlock()}"
        if name == "mute":
            u.set_mute(not u.muted)
            return "muted" if u.muted else "unmuted"
        if name.startswith("door-"):
            return f"monitoring {u.monitor(name.removeprefix('door-')).name}"
        if name == "call-number":
            return f"calling {u.call(self.query_one('#number', Input).value)}"
        if name == "call-centre":
            u.call(CENTRE_NUMBER)
            return "calling the management centre"
        if name == "dnd":
            u.set_option("dnd", not u.settings.dnd)
            return "do not disturb " + ("on" if u.settings.dnd else "off")
        return ""


def _record_line(kind: str, data: dict[str, object]) -> str:
    if kind == "call":
        return f"call {data['Type']} {data['PeerNumber']} {data['EndState']}"
    if kind == "unlock":
        return f"unlock {data['Door']} ({data['Method']})"
    return f"message {data['Type']} {data['Subject']}"
