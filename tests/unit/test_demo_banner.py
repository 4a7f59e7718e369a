"""`openpss demo`'s banner and device commands: what it prints works as printed (issue 8.12)."""

from __future__ import annotations

import shlex
from pathlib import Path

from openpss.commands.demo import (
    CAMERA_CONTROL_PORT,
    DEMO_CARD,
    DEMO_DEVICE_PASSWORD,
    _camera_command,
    banner,
)


def test_banner_card_command_carries_the_terminal_http_password() -> None:
    text = banner("http://127.0.0.1:8080/", "http://127.0.0.1:37780", camera_control_port=None)
    line = next(x for x in text.splitlines() if "present a card:" in x)
    words = shlex.split(line.split("present a card:")[1])
    assert words[words.index("--http-password") + 1] == DEMO_DEVICE_PASSWORD
    assert words[words.index("--card") + 1] == DEMO_CARD == "3A7B0000"
    assert "camera" not in text


def test_demo_camera_has_a_control_port_for_the_ffc_wizard(tmp_path: Path) -> None:
    """The FFC wizard needs the lens covered and a flat target: the scene control channel."""
    command = _camera_command(tmp_path, control_port=CAMERA_CONTROL_PORT)
    assert command[command.index("--control-port") + 1] == str(CAMERA_CONTROL_PORT)
    text = banner("http://x/", "http://y", camera_control_port=CAMERA_CONTROL_PORT)
    assert f"openpss device camera-io scene dark|flat|scene --port {CAMERA_CONTROL_PORT}" in text


def test_banner_says_the_intercom_devices_register_with_the_platform() -> None:
    numbers = ["01#01#8001", "01#01#101#0", "01#01#101#1"]
    text = banner(
        "http://x/",
        "http://y",
        camera_control_port=None,
        vto_ports=(37800, 5000, 8554, 5060),
        vth_port=37801,
        sip=("127.0.0.1", 5080),
        numbers=numbers,
    )
    assert "registered as 01#01#8001 to the platform's SIP server 127.0.0.1:5080" in text
    assert "realm VDP" not in text  # the door station is not the SIP server any more
    line = next(x for x in text.splitlines() if "call the centre:" in x)
    words = shlex.split(line.split("call the centre:")[1])
    assert words[:4] == ["openpss", "device", "vto", "press"] and words[4] == "3"
    assert "01#01#101#0 http://127.0.0.1:37801, 01#01#101#1 http://127.0.0.1:37802" in text
