"""`openpss demo` end to end: the platform and a virtual terminal as separate processes, a card
presented on the terminal, the punch in the platform's attendance results (issue 4's done-when)."""

from __future__ import annotations

import datetime as dt
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.support.device_cli import interrupt
from tests.support.polling import eventually
from tests.support.ports import free_port

# A demo process answers over HTTP: retry while it starts or is half-up.
_DEMO_RETRY = (httpx.HTTPError, ValueError, KeyError)


def _openpss(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "openpss.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def _banner_line(env: dict[str, str], label: str) -> str:
    """The command after `label` in the demo's start banner (its stdout)."""
    for line in Path(env["DEMO_BANNER_FILE"]).read_text().splitlines():
        if line.strip().startswith(label):
            return line.strip().removeprefix(label).strip()
    return ""


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A running `openpss demo` (no camera) on free loopback ports."""
    console, terminal = free_port(), free_port()
    env = {
        **os.environ,
        "OPENPSS_ENVIRONMENT": "development",
        "OPENPSS_DATA_DIR": str(tmp_path / "var"),
        "OPENPSS_HTTP_PORT": str(console),
        "OPENPSS_DEVICE_POLL_SECONDS": "1",
        "OPENPSS_SIP_PORT": "0",  # the platform's SIP server on a free port, not 5080
    }
    banner = tmp_path / "banner.txt"
    env["DEMO_BANNER_FILE"] = str(banner)
    with banner.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "openpss.cli", "demo", "--terminal-port", str(terminal),
             "--no-camera", "--no-vto"],
            env=env,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
    console_url, terminal_url = f"http://127.0.0.1:{console}", f"http://127.0.0.1:{terminal}"
    try:
        eventually(
            lambda: httpx.get(console_url + "/api/v1/system/status").is_success,
            what="the console",
            timeout=90.0,
            interval=0.5,
            retry_on=_DEMO_RETRY,
        )
        yield console_url, terminal_url, env
    finally:
        interrupt(process)
    with pytest.raises(httpx.TransportError):  # the demo stopped its terminal too
        httpx.get(terminal_url, timeout=2)


def test_card_presented_on_the_terminal_reaches_attendance_results(
    demo: tuple[str, str, dict[str, str]],
) -> None:
    console_url, terminal_url, env = demo
    _openpss(env, "account", "create-admin", "--password", "Adm1n!Secure")
    token = _openpss(env, "account", "token", "admin", "--name", "e2e").strip().splitlines()[-1]
    api = httpx.Client(base_url=console_url, headers={"Authorization": f"Bearer {token}"})

    olivia = api.get("/api/v1/people/persons", params={"q": "1001", "field": "id"}).json()
    person = olivia["items"][0]
    card = person["cards"][0]["number"]
    eventually(
        lambda: api.get("/api/v1/devices").json()["items"][0]["online"],
        what="the terminal online",
        timeout=90.0,
        interval=0.5,
        retry_on=_DEMO_RETRY,
    )

    # The banner's command, run as printed (issue 8.12: it lacked the HTTP password -> 401).
    printed = eventually(
        lambda: _banner_line(env, "present a card:"),
        what="the banner",
        timeout=90.0,
        interval=0.5,
        retry_on=_DEMO_RETRY,
    )
    words = shlex.split(printed)
    assert words[:4] == ["openpss", "device", "attendance", "present"]
    assert words[words.index("--card") + 1] == card  # the first demo person's card
    assert words[words.index("--device") + 1] == terminal_url
    quiet_env = {k: v for k, v in env.items() if k != "OPENPSS_DEVICE_ADMIN_PASSWORD"}

    def present() -> dict[str, Any] | None:
        out = _openpss(quiet_env, *words[1:])
        answer: dict[str, Any] = httpx.Response(200, content=out.strip().splitlines()[-1]).json()
        return answer if answer.get("accepted") else None  # refused until the sync pushed her

    answer = eventually(
        present,
        what="the card accepted by the terminal",
        timeout=90.0,
        interval=0.5,
        retry_on=_DEMO_RETRY,
    )
    assert answer["user_id"] == 1001

    today = dt.date.today()
    window = {
        "person_id": person["id"],
        "start": (today - dt.timedelta(days=1)).isoformat(),
        "end": (today + dt.timedelta(days=1)).isoformat(),
    }

    def punched_result() -> list[dict[str, Any]]:
        rows = api.get("/api/v1/attendance/results", params=window | {"limit": "500"}).json()
        rows = rows["items"]
        return [r for r in rows if r["punches"]]

    rows = eventually(
        punched_result,
        what="the punch in the attendance results",
        timeout=90.0,
        interval=0.5,
        retry_on=_DEMO_RETRY,
    )
    records = api.get("/api/v1/records/access", params={"limit": 1}).json()["items"]
    assert records[0]["user_id"] == "1001"
    assert records[0]["source"] == "device"
    assert records[0]["card_no"] == card
    zone = ZoneInfo(api.get("/api/v1/attendance/settings").json()["timezone"])
    at = dt.datetime.fromisoformat(records[0]["event_time"].replace("Z", "+00:00")).astimezone(zone)
    day = [r for r in rows if r["day"] == at.date().isoformat()]
    assert day, rows
    assert at.strftime("%H:%M:%S") in day[0]["punches"]
