"""Configure a registered VTO/VTH to register with the platform's SIP server (2.2).

Over the device's Dahua CGI (configManager ``SIP``: UserID = registration number, server, port,
domain = realm, password); the device then registers with the SIP server under that number.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from openpss.platform.crypto import SecretDecryptError
from openpss.platform.devices.adapter import DahuaAdapter, failure_reason
from openpss.platform.devices.models import Device
from openpss.platform.devices.service import device_password
from openpss.platform.errors import DomainError as DeviceError
from openpss.platform.intercom.errors import IntercomError, NotFound, Unavailable
from openpss.platform.intercom.registrations import get_registration, sip_password
from openpss.platform.security.audit import Actor, record_audit
from openpss.platform.settings import Settings
from openpss.protocols.dahua_http.client import DahuaError

logger = logging.getLogger(__name__)


def sip_address(settings: Settings) -> tuple[str, int]:
    """Where devices reach the platform's SIP server (OPENPSS_SIP_HOST or the HTTP host)."""
    return settings.sip_host or settings.http_host, settings.sip_port


async def configure_device(
    *,
    session: Session,
    settings: Settings,
    actor: Actor,
    registration_id: int,
    server: tuple[str, int] | None = None,
) -> None:
    """Write the registration's SIP account into its device; Unavailable when it refuses."""
    registration = get_registration(session=session, registration_id=registration_id)
    if registration.device_id is None:
        raise IntercomError(f"{registration.number} is a VTS: configure it on the VTS itself")
    device = session.get(Device, registration.device_id)
    assert device is not None  # the foreign key cascades deletes
    host, port = server or sip_address(settings)
    try:
        password = sip_password(secret_key=settings.secret_key, registration=registration)
        login = device_password(settings=settings, device=device)
    except (DeviceError, SecretDecryptError) as exc:
        raise IntercomError(str(exc)) from exc
    try:
        async with DahuaAdapter.for_device(device, login) as adapter:
            await adapter.configure_sip(
                user_id=registration.number,
                server=host,
                port=port,
                domain=settings.sip_realm,
                password=password,
            )
    except DahuaError as exc:
        raise Unavailable(
            f"device {device.name!r} did not take the SIP settings: {failure_reason(exc)}"
        ) from exc
    record_audit(
        session=session,
        actor=actor,
        action="intercom.registration.configure",
        target=f"intercom_registration:{registration.id}",
        detail={"number": registration.number, "device_id": device.id, "server": f"{host}:{port}"},
    )


async def read_vto_number(*, session: Session, settings: Settings, device_id: int) -> str:
    """Ask a VTO in the device list for its VTO number (dial management reads it, 2.2)."""
    device = session.get(Device, device_id)
    if device is None:
        raise NotFound(f"device {device_id} does not exist")
    try:
        login = device_password(settings=settings, device=device)
    except (DeviceError, SecretDecryptError) as exc:
        raise IntercomError(str(exc)) from exc
    try:
        async with DahuaAdapter.for_device(device, login) as adapter:
            number = await adapter.vto_number()
    except DahuaError as exc:
        raise Unavailable(
            f"device {device.name!r} did not tell its VTO number: {failure_reason(exc)}; "
            "enter it (device_number)"
        ) from exc
    if not number.isdigit():
        raise Unavailable(f"device {device.name!r} has no VTO number; enter it (device_number)")
    return number
