"""A door station calls the management centre and an operator answers it in Chromium.

The virtual VTO runs in its own thread, registered to the platform's SIP server (its account
in OPENPSS_SIP_ACCOUNTS_FILE); the console gets the floating window, answers, receives the
door's video and sound over WebRTC, sends its fake microphone back, opens the door and hangs
up; the call record keeps the snapshot and the recording.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.sip import attach_sip
from openpss.platform import app as platform_app
from openpss.platform.app import create_app
from openpss.platform.intercom.calls import media_of
from openpss.platform.intercom.sip import run as run_sip
from openpss.platform.records.models import CallRecord
from openpss.platform.settings import Settings
from tests.browser.conftest import CHROMIUM_FLAGS, LiveServer
from tests.browser.helpers import initialize_and_login
from tests.support.peers import require_program
from tests.support.polling import eventually
from tests.support.ports import free_port
from tests.support.vto_device import RunningVto, running_vto

VTO_NUMBER, VTO_SIP_PASSWORD = "8001", "vto-sip-pw"
VIEWPORT = {"width": 1366, "height": 768}  # the console's smallest supported screen
MEDIA_FLAGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--allow-loopback-in-peer-connection",  # ICE over 127.0.0.1 like every other test link
]
CONNECTED = "window.openpssCall && window.openpssCall.pc.connectionState === 'connected'"


@pytest.fixture
def sip_live_server(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LiveServer]:
    """The platform with its SIP server (only that background service) on free ports."""
    accounts = tmp_path / "sip-accounts.csv"
    accounts.write_text(f"username,password\n{VTO_NUMBER},{VTO_SIP_PASSWORD}\n")
    monkeypatch.setattr(platform_app, "BACKGROUND_SERVICES", [run_sip])
    port = free_port()
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=sqlite_url,
        secret_key="browser-test-secret-0123456789",
        http_port=port,
        sip_host="127.0.0.1",
        sip_port=0,
        sip_accounts_file=accounts,
        webrtc_addresses=["127.0.0.1"],  # ICE over loopback only
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    eventually(
        lambda: getattr(app.state, "console_calls", None),
        what="the SIP server and console",
        timeout=30.0,
    )
    yield LiveServer(f"http://127.0.0.1:{port}", settings, app)
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def media_page(browser_with_media: Any) -> Iterator[Any]:
    """A page of a Chromium with a fake camera and microphone."""
    context = browser_with_media.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(20000)
    yield page
    context.close()


@pytest.fixture(scope="module")
def browser_with_media(browser: Any) -> Iterator[Any]:
    """Chromium with fake media devices (the permission prompt answered yes), launched by the
    package's Playwright (a second sync Playwright in one process is refused)."""
    executable = require_program("chromium", "apt-get install chromium chromium-driver")
    instance = browser.browser_type.launch(
        executable_path=executable, headless=True, args=CHROMIUM_FLAGS + MEDIA_FLAGS
    )
    yield instance
    instance.close()


@pytest.fixture
def vto(tmp_path: Path, sip_live_server: LiveServer) -> Iterator[RunningVto]:
    """A virtual VTO registered to the platform's SIP server."""
    sip_port = sip_live_server.app.state.sip_server.port  # type: ignore[attr-defined]

    def to_platform(station: DoorStation) -> None:
        station.set_sip_server(
            enabled=False, address="127.0.0.1", port=sip_port, login_password=VTO_SIP_PASSWORD
        )

    small = {0: (320, 180), 1: (320, 180)}
    with running_vto(
        tmp_path / "vto",
        configure=to_platform,
        fps=10,
        stream_sizes=small,
        extra_services=[attach_sip],
    ) as running:
        eventually(
            lambda: running.station.registered,
            what="the VTO registered to the platform",
            timeout=30.0,
        )
        yield running


STATS = """async () => {
  const stats = await window.openpssCall.pc.getStats();
  const out = {video: 0, audio: 0, codec: ""};
  stats.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") {
      out.video = s.framesDecoded || 0;
      out.codec = s.codecId ? stats.get(s.codecId).mimeType : "";
    }
    if (s.type === "inbound-rtp" && s.kind === "audio") out.audio = s.packetsReceived || 0;
  });
  return out;
}"""


SELECTED_PAIR = """async () => {
  const stats = await window.openpssCall.pc.getStats();
  let pair = null;
  stats.forEach((s) => {
    if (s.type === "transport") pair = stats.get(s.selectedCandidatePairId);
  });
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return [local.address, remote.address];
}"""


# Test-only: the browser offers VP8 alone, so the platform must transcode the door's H.264.
VP8_ONLY = """(() => {
  const add = RTCPeerConnection.prototype.addTransceiver;
  RTCPeerConnection.prototype.addTransceiver = function (...args) {
    const transceiver = add.apply(this, args);
    if (transceiver.receiver.track.kind === "video") {
      const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
      transceiver.setCodecPreferences(codecs.filter((c) => c.mimeType === "video/VP8"));
    }
    return transceiver;
  };
})();"""


def _stats(page: Any) -> dict[str, Any]:
    return dict(page.evaluate(STATS))


def test_vto_centre_call_answered_in_the_browser(
    media_page: Any, sip_live_server: LiveServer, vto: RunningVto
) -> None:
    page = media_page
    initialize_and_login(page, sip_live_server)
    page.goto(f"{sip_live_server.url}/intercom/calls")
    page.wait_for_function("window.openpssCalls !== undefined")

    assert vto.control("dial", number="888888").status_code == 200
    window = page.locator("#incoming-call")
    window.wait_for(state="visible")
    assert page.locator("#incoming-call-from").inner_text() == VTO_NUMBER
    page.click("#incoming-call-accept")
    page.wait_for_url("**/intercom/calls/*")
    page.wait_for_function(CONNECTED)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the call page scrolls sideways: {width} px"
    pair = page.evaluate(SELECTED_PAIR)
    # ICE to the platform's only candidate, 127.0.0.1; Chromium may send from any of its host
    # addresses (192.0.2.2 here), which Linux routes over the loopback interface all the same
    assert pair[1] == "127.0.0.1", pair

    first = eventually(
        lambda: (s := _stats(page))["video"] > 0 and s["audio"] > 0 and s,
        what="media",
        timeout=30.0,
    )
    assert first["codec"] == "video/H264"  # the door's H.264 passed through
    eventually(
        lambda: (s := _stats(page))["video"] > first["video"] and s["audio"] > first["audio"],
        what="the frames and packets growing",
        timeout=30.0,
    )
    heard = eventually(
        lambda: vto.on_loop(lambda: vto.station.rtp["audio_in"]), what="browser audio", timeout=30.0
    )
    eventually(
        lambda: vto.on_loop(lambda: vto.station.rtp["audio_in"]) > heard,
        what="more browser audio",
        timeout=30.0,
    )

    def heard_now() -> int:
        return int(vto.on_loop(lambda: vto.station.rtp["audio_in"]))

    page.check("#switch-mic_muted")  # mute my microphone: nothing reaches the door
    page.locator("#call-status", has_text="Switches saved").wait_for()
    muted_at = heard_now()
    time.sleep(1.0)  # the browser keeps sending; the platform holds it back
    assert heard_now() - muted_at <= 2, "a packet in flight may still arrive"
    page.uncheck("#switch-mic_muted")
    eventually(lambda: heard_now() > muted_at + 10, what="the microphone back", timeout=30.0)

    unlocks = vto.on_loop(lambda: len(vto.station.records["unlock"]))
    page.click("#call-door")
    eventually(
        lambda: vto.on_loop(lambda: len(vto.station.records["unlock"])) > unlocks,
        what="unlock",
        timeout=30.0,
    )
    record = vto.on_loop(lambda: vto.station.records["unlock"][-1].data)
    assert record["Status"] == 1, record

    page.click("#call-hangup")
    page.locator("#call-status", has_text="Call ended").wait_for()
    eventually(
        lambda: vto.on_loop(lambda: vto.station.call_state.value) == "idle",
        what="VTO idle",
        timeout=30.0,
    )
    factory = sip_live_server.app.state.session_factory  # type: ignore[attr-defined]

    def answered() -> CallRecord | None:
        with factory() as session:
            return session.query(CallRecord).filter_by(status="answered").one_or_none()

    row = eventually(answered, what="the answered call record", timeout=30.0)
    assert (row.caller, row.callee) == (VTO_NUMBER, "888888")
    assert media_of(sip_live_server.settings.data_dir, row.id) == {
        "snapshot": True,
        "recording": True,
    }
    page.goto(f"{sip_live_server.url}/intercom/calls")
    assert page.is_checked("#switch-auto_record") and not page.is_checked("#switch-mic_muted")
    snapshot = page.locator(f"tr[data-record='{row.id}'] img.call-snapshot")
    eventually(
        lambda: snapshot.evaluate("img => img.complete && img.naturalWidth") > 0,
        what="snapshot",
        timeout=30.0,
    )


def test_dial_pad_call_back_and_door_hang_up_with_a_vp8_only_browser(
    media_page: Any, sip_live_server: LiveServer, vto: RunningVto
) -> None:
    page = media_page
    page.add_init_script(VP8_ONLY)
    initialize_and_login(page, sip_live_server)
    page.goto(f"{sip_live_server.url}/intercom/calls")
    page.wait_for_function("window.openpssCalls !== undefined")
    page.fill("#dial-number", "9999")
    page.click("#dial-call")
    page.locator("#dial-status", has_text="did not answer").wait_for()
    page.fill("#dial-number", "")
    for key in VTO_NUMBER:
        page.click(f"#dial-form [data-key='{key}']")
    page.click("#dial-call")
    page.wait_for_url("**/intercom/calls/*")
    page.wait_for_function(CONNECTED)
    first = eventually(
        lambda: (s := _stats(page))["video"] > 0 and s, what="the door's video", timeout=30.0
    )
    assert first["codec"] == "video/VP8"  # transcoded by the platform (PyAV decode, aiortc VP8)
    eventually(lambda: _stats(page)["video"] > first["video"], what="more frames", timeout=30.0)
    page.click("#call-hangup")
    page.locator("#call-status", has_text="Call ended").wait_for()

    # a visitor rings and walks away: a missed call, called back from the list
    page.goto(f"{sip_live_server.url}/intercom/calls")
    page.wait_for_function("window.openpssCalls !== undefined")
    eventually(
        lambda: vto.on_loop(lambda: vto.station.call_state.value) == "idle",
        what="VTO idle",
        timeout=30.0,
    )
    assert vto.control("dial", number="888888").status_code == 200
    page.locator("#incoming-call").wait_for(state="visible")
    assert vto.control("hangup").status_code == 200
    page.locator("#incoming-call").wait_for(state="hidden")
    page.reload()
    page.click(f"button.call-back[data-dial='{VTO_NUMBER}']")
    page.wait_for_url("**/intercom/calls/*")
    page.wait_for_function(CONNECTED)
    page.reload()  # a reloaded call page connects a new WebRTC leg to the same call
    page.wait_for_function(CONNECTED)
    eventually(
        lambda: _stats(page)["video"] > 0, what="the door's video after the reload", timeout=30.0
    )
    page.click("#call-hangup")
    page.locator("#call-status", has_text="Call ended").wait_for()

    # the door calls again, is answered, and hangs up itself (BYE from the device side)
    page.goto(f"{sip_live_server.url}/intercom/calls")
    page.wait_for_function("window.openpssCalls !== undefined")
    assert vto.control("dial", number="888888").status_code == 200
    page.click("#incoming-call-accept")
    page.wait_for_url("**/intercom/calls/*")
    page.wait_for_function(CONNECTED)
    eventually(
        lambda: vto.on_loop(lambda: vto.station.call_state.value) == "talking",
        what="talking",
        timeout=30.0,
    )
    assert vto.control("hangup").status_code == 200
    page.locator("#call-status", has_text="Call ended").wait_for()

    factory = sip_live_server.app.state.session_factory  # type: ignore[attr-defined]
    with factory() as session:
        rows = [(r.caller, r.callee, r.status) for r in session.query(CallRecord).order_by("id")]
    assert rows == [
        ("888888", "9999", "failed"),
        ("888888", VTO_NUMBER, "answered"),
        (VTO_NUMBER, "888888", "missed"),
        ("888888", VTO_NUMBER, "answered"),
        (VTO_NUMBER, "888888", "answered"),
    ]
