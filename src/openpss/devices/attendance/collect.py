"""Enrolment collection on the terminal: the platform asks the device to read the next card, or
to capture a fingerprint from a finger presented three times (platform manual 1.4.1, card and
fingerprint with "Device" as the collector).

The wire form is ours, modelled on the Dahua access-control CGI (real firmware exposes
fingerprint capture as ``accessControl.cgi?action=captureFingerprint`` and reports cards through
its event stream; the public API documents neither precisely enough to copy):

- ``GET /cgi-bin/accessControl.cgi?action=captureCard&timeout=S`` -> ``CardNo=<hex>``
- ``GET /cgi-bin/accessControl.cgi?action=captureFingerprint&timeout=S`` ->
  JSON ``{"FingerprintData": "<base64>", "Presentations": 3}``

While a capture waits, the next presentations at the device (``/openpss/control/present``) are
taken for it instead of being punches. One capture at a time; a second one is refused (409-like
error), a capture that sees nothing within ``timeout`` (1-60 s) answers an error that says so.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field
from typing import Literal

from starlette.responses import Response

from openpss.devices.attendance.model import TerminalError, normalize_card
from openpss.protocols.aio import within
from openpss.protocols.dahua_http.server import CgiError, CgiRequest, json_response, kv_response

Kind = Literal["card", "fingerprint"]
FINGER_PRESENTATIONS = 3  # the finger is presented three times (manual 1.4.1, fingerprint)
MAX_TIMEOUT = 60  # seconds a capture may wait for the person at the device
DEFAULT_TIMEOUT = 30


@dataclass
class Capture:
    """One capture in progress: what it waits for and what it has seen so far."""

    kind: Kind
    done: asyncio.Future[bytes | str]
    samples: list[bytes] = field(default_factory=list)


class Collector:
    """The terminal's enrolment mode: at most one capture waiting for a presentation."""

    def __init__(self) -> None:
        self.pending: Capture | None = None

    async def capture(self, kind: Kind, timeout: float) -> bytes | str:
        """Wait for the next card (its number) or three presentations of one finger."""
        if self.pending is not None:
            raise TerminalError(f"the device is already capturing a {self.pending.kind}")
        loop = asyncio.get_running_loop()
        self.pending = Capture(kind, loop.create_future())
        try:
            return await within(asyncio.shield(self.pending.done), timeout)
        except TimeoutError:
            what = "card" if kind == "card" else "finger presented three times"
            raise TerminalError(f"no {what} at the device within {timeout:g} s") from None
        finally:
            self.pending = None

    def offer(self, *, card: str | None = None, fingerprint: bytes | None = None) -> str | None:
        """Take a presentation for the waiting capture; a message, or None when not taken."""
        capture = self.pending
        if capture is None or capture.done.done():
            return None
        if capture.kind == "card" and card:
            capture.done.set_result(normalize_card(card))
            return "card read for enrolment"
        if capture.kind == "fingerprint" and fingerprint:
            return self._finger(capture, fingerprint)
        return None

    @staticmethod
    def _finger(capture: Capture, template: bytes) -> str:
        if capture.samples and template != capture.samples[0]:
            capture.samples.clear()
            return "a different finger: present the same finger three times (start again)"
        capture.samples.append(template)
        if len(capture.samples) < FINGER_PRESENTATIONS:
            return f"fingerprint captured {len(capture.samples)} of {FINGER_PRESENTATIONS}"
        capture.done.set_result(template)
        return "fingerprint enrolled"


def _timeout(call: CgiRequest) -> float:
    raw = call.params.get("timeout", str(DEFAULT_TIMEOUT))
    try:
        value = int(raw)
    except ValueError:
        raise CgiError(f"timeout must be 1-{MAX_TIMEOUT} seconds, not {raw!r}") from None
    if not 1 <= value <= MAX_TIMEOUT:
        raise CgiError(f"timeout must be 1-{MAX_TIMEOUT} seconds, not {value}")
    return float(value)


async def access_control(collector: Collector, call: CgiRequest) -> Response:
    """``accessControl.cgi``: captureCard and captureFingerprint."""
    if call.action not in ("captureCard", "captureFingerprint"):
        raise CgiError("Bad Request!")
    kind: Kind = "card" if call.action == "captureCard" else "fingerprint"
    try:
        result = await collector.capture(kind, _timeout(call))
    except TerminalError as exc:
        raise CgiError(str(exc)) from None
    if isinstance(result, str):
        return kv_response({"CardNo": result})
    data = base64.b64encode(result).decode()
    return json_response({"FingerprintData": data, "Presentations": FINGER_PRESENTATIONS})
