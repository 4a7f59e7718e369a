"""The door station's settings (web: Local Setting, Network Setting, AccessControl), validated.

Limits from the manual are marked ``manual``; the AccessControl ranges follow the Dahua
``AccessControl`` config (UnlockHoldInterval in ms, CloseTimeout in s) as real units answer
``configManager.cgi?action=getConfig&name=AccessControl``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from openpss.devices.vto.entities import (
    SIP_PORT_PLATFORM,
    SIP_REALM,
    DoorMode,
    SystemType,
    VtoError,
    check_vto_number,
)

MIN_HOLD_MS, MAX_HOLD_MS = 250, 20_000  # Dahua AccessControl.UnlockHoldInterval (ms)
MIN_CLOSE_TIMEOUT_S, MAX_CLOSE_TIMEOUT_S = 1, 9_999  # Dahua AccessControl.CloseTimeout (s)
MIN_RING_S, MAX_RING_S = 15, 120  # ours: how long a call rings before it is missed
MIN_TALK_S, MAX_TALK_S = 60, 1_800  # ours: longest talk before the unit hangs up
MAX_PUBLIC_PASSWORD = 8  # ours: #PWD# keypad passwords are 1-8 digits
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass
class SipSettings:
    """Network Setting > SIP Server (manual Table 4-1)."""

    server_enabled: bool = True  # this VTO is the SIP server (Server Type VTO)
    server_type: str = "VTO"  # "VTO" or "Express/DSS"
    address: str = ""
    port: int = SIP_PORT_PLATFORM
    domain: str = SIP_REALM
    login_user: str = ""
    login_password: str = ""
    alternate_enabled: bool = False
    alternate_address: str = ""
    alternate_user: str = ""
    alternate_password: str = ""
    alternate_vts_address: str = ""

    def validate(self) -> None:
        """Check the SIP server settings."""
        if self.server_type not in ("VTO", "Express/DSS"):
            raise VtoError("SIP server type must be VTO or Express/DSS (manual 4.2.4)")
        if not 1 <= self.port <= 65535:
            raise VtoError("SIP server port must be 1-65535")
        if not self.server_enabled and not self.address:
            raise VtoError("give the SIP server's IP address, or enable this VTO as SIP server")
        if self.alternate_enabled and not (self.alternate_address and self.alternate_vts_address):
            raise VtoError(
                "enter the alternate IP address, user, password and VTS IP address before "
                "enabling the alternate server (manual Table 4-1)"
            )


@dataclass
class AccessSettings:
    """AccessControl: lock, door sensor, passwords, call times."""

    unlock_hold_ms: int = 2_000
    close_timeout_s: int = 60
    sensor_enabled: bool = True
    break_in_alarm: bool = True
    not_closed_alarm: bool = True
    duress_alarm: bool = True
    mode: DoorMode = DoorMode.normal
    public_password: str = ""  # "" disables #PWD# unlock
    duress_password: str = ""
    ring_timeout_s: int = 30
    max_talk_s: int = 120

    def validate(self) -> None:
        """Check ranges and passwords."""
        if not MIN_HOLD_MS <= self.unlock_hold_ms <= MAX_HOLD_MS:
            raise VtoError(f"lock hold time must be {MIN_HOLD_MS}-{MAX_HOLD_MS} ms")
        if not MIN_CLOSE_TIMEOUT_S <= self.close_timeout_s <= MAX_CLOSE_TIMEOUT_S:
            raise VtoError(
                f"door-left-open time must be {MIN_CLOSE_TIMEOUT_S}-{MAX_CLOSE_TIMEOUT_S} s"
            )
        if not MIN_RING_S <= self.ring_timeout_s <= MAX_RING_S:
            raise VtoError(f"ring time must be {MIN_RING_S}-{MAX_RING_S} s")
        if not MIN_TALK_S <= self.max_talk_s <= MAX_TALK_S:
            raise VtoError(f"talk time must be {MIN_TALK_S}-{MAX_TALK_S} s")
        for name in ("public_password", "duress_password"):
            value = getattr(self, name)
            if value and not (value.isdigit() and len(value) <= MAX_PUBLIC_PASSWORD):
                raise VtoError(f"{name.replace('_', ' ')} must be 1-{MAX_PUBLIC_PASSWORD} digits")
        if self.public_password and self.public_password == self.duress_password:
            raise VtoError("the duress password must differ from the public password")


@dataclass
class VtoSettings:
    """Everything the web pages of the unit configure."""

    vto_number: str = "8001"
    system_type: SystemType = SystemType.analogue  # manual 4.2.4: "Default ... analogue"
    building_no: str = ""
    unit_no: str = ""
    ip_address: str = "192.168.1.108"  # manual 4.2.1: default IP address
    netmask: str = "255.255.255.0"
    gateway: str = "192.168.1.1"
    email: str = ""
    sip: SipSettings = field(default_factory=SipSettings)
    access: AccessSettings = field(default_factory=AccessSettings)

    def validate(self) -> None:
        """Check every block."""
        check_vto_number(self.vto_number)
        for name in ("building_no", "unit_no"):
            value = getattr(self, name)
            if value and not (value.isdigit() and len(value) <= 3):
                raise VtoError(f"{name.replace('_', ' ')} must be 1-3 digits")
        if (self.building_no or self.unit_no) and self.sip.server_enabled:
            raise VtoError(
                "Building No. and Unit No. are not shown while this VTO is the SIP server "
                "(manual 4.2.4)"
            )
        for name in ("ip_address", "netmask", "gateway"):
            try:
                ipaddress.IPv4Address(getattr(self, name))
            except ValueError:
                raise VtoError(f"{name.replace('_', ' ')} must be an IPv4 address") from None
        if self.email and not EMAIL.fullmatch(self.email):
            raise VtoError(f"e-mail address {self.email!r} is not valid")
        self.sip.validate()
        self.access.validate()

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VtoSettings:
        """Inverse of ``to_json`` (unknown keys ignored, so old files still load)."""
        sip = SipSettings(**_known(SipSettings, data.get("sip", {})))
        access_data = _known(AccessSettings, data.get("access", {}))
        if "mode" in access_data:
            access_data["mode"] = DoorMode(access_data["mode"])
        access = AccessSettings(**access_data)
        top = _known(cls, data)
        top.pop("sip", None)
        top.pop("access", None)
        if "system_type" in top:
            top["system_type"] = SystemType(top["system_type"])
        return cls(**top, sip=sip, access=access)


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in data.items() if k in names}
