"""Enrolment with a device as the collector (manual 1.4.1: card reader or fingerprint collector
"Device"): the platform asks the device for the next card presented, or for a fingerprint
template from a finger presented three times, over the device's CGI API."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from openpss.platform.devices import service
from openpss.platform.devices.adapter import DahuaAdapter
from openpss.platform.devices.models import Device
from openpss.platform.errors import Invalid, Unavailable
from openpss.platform.people.cards import CardMode, parse_card
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

logger = logging.getLogger(__name__)
DEFAULT_WAIT = 30  # seconds the person has to present the card or finger
MAX_WAIT = 60  # the terminal's own limit (devices/attendance/collect.py)


class CollectError(Unavailable):
    """The device could not collect: offline, refused, nothing presented in time."""


def collectors(session: Session) -> list[Device]:
    """Devices that can read cards and fingerprints (access and attendance devices)."""
    return list(session.scalars(select(Device).order_by(Device.name)))


def _adapter(session: Session, settings: Settings, device_id: int, wait: int) -> DahuaAdapter:
    if not 1 <= wait <= MAX_WAIT:
        raise Invalid(f"wait must be 1-{MAX_WAIT} seconds, not {wait}")
    device = service.get_device(session=session, device_id=device_id)
    password = service.device_password(settings=settings, device=device)
    return DahuaAdapter.for_device(device, password, timeout=wait + 10)


async def read_card(
    *, session: Session, settings: Settings, device_id: int, wait: int = DEFAULT_WAIT
) -> str:
    """The canonical number of the next card presented at the device."""
    try:
        async with _adapter(session, settings, device_id, wait) as adapter:
            raw = await adapter.client.capture_card(wait)
    except DahuaError as exc:
        raise CollectError(f"reading a card on the device failed: {exc}") from exc
    try:
        return parse_card(raw, CardMode.hex)
    except Invalid as exc:
        raise CollectError(f"reading a card on the device failed: {exc}") from exc


async def capture_fingerprint(
    *, session: Session, settings: Settings, device_id: int, wait: int = DEFAULT_WAIT
) -> bytes:
    """A fingerprint template from a finger presented three times at the device (NotFound or
    Invalid for an unknown device or one without password; CollectError when the device fails)."""
    try:
        async with _adapter(session, settings, device_id, wait) as adapter:
            return await adapter.client.capture_fingerprint(wait)
    except DahuaError as exc:
        raise CollectError(f"collecting a fingerprint on the device failed: {exc}") from exc
