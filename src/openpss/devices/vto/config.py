"""Config tables of the door station, shared by ``configManager.cgi`` and DHIP
``configManager.getConfig``: ``VideoTalk``, ``SIP``, ``AccessControl``, ``CommGlobal``,
``T2UServer``, ``Network``, ``FacadeLayout``, ``VTOInfo``.

``apply_set_config`` takes the CGI ``setConfig`` form (``AccessControl[0].UnlockHoldInterval=
3000``) for the writable tables (AccessControl, VideoTalk, SIP, Network.eth0) all or nothing;
``SIP.SIPServer=...`` (the platform's "configure device to register") makes the unit a user agent
of that server, registered at once as ``SIP.UserID``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from openpss.devices.vto.entities import DoorMode, SystemType, VtoError
from openpss.devices.vto.model import DoorStation
from openpss.devices.vto.settings import VtoSettings
from openpss.protocols.dahua_http.codec import unflatten_config


def _access_table(vto: DoorStation) -> list[dict[str, Any]]:
    a = vto.settings.access
    return [
        {
            "Name": "Door1",
            "State": a.mode.value,
            "UnlockHoldInterval": a.unlock_hold_ms,
            "CloseTimeout": a.close_timeout_s,
            "SensorEnable": a.sensor_enabled,
            "BreakInAlarmEnable": a.break_in_alarm,
            "DoorNotClosedAlarmEnable": a.not_closed_alarm,
            "DuressAlarmEnable": a.duress_alarm,
            "CommonPassword": "******" if a.public_password else "",
            "AccessProtocol": "Local",
        }
    ]


def _video_talk_table(vto: DoorStation) -> dict[str, Any]:
    s = vto.settings
    return {
        "VTONumber": s.vto_number,
        "SystemType": s.system_type.value,
        "BuildingNo": s.building_no,
        "UnitNo": s.unit_no,
        "RingTime": s.access.ring_timeout_s,
        "MaxTalkTime": s.access.max_talk_s,
        "CentreNumber": "888888",
    }


def _sip_table(vto: DoorStation) -> dict[str, Any]:
    sip = vto.settings.sip
    return {
        "SIPServerEnable": sip.server_enabled,
        "ServerType": sip.server_type,
        "SIPServer": sip.address,
        "SIPServerPort": sip.port,
        "SIPDomain": sip.domain,
        "UserID": sip.login_user or vto.settings.vto_number,
        "AuthID": sip.login_user,
        "AlternateEnable": sip.alternate_enabled,
        "AlternateServer": sip.alternate_address,
        "AlternateVTSServer": sip.alternate_vts_address,
        "Registered": vto.registered,
    }


TABLES: dict[str, Callable[[DoorStation], Any]] = {
    "AccessControl": _access_table,
    "VideoTalk": _video_talk_table,
    "SIP": _sip_table,
    "CommGlobal": lambda vto: {"AlarmEnable": True, "ProfileEnable": False, "CurrentProfile": ""},
    "T2UServer": lambda vto: {"Enable": False},
    "Network": lambda vto: {
        "eth0": {
            "IPAddress": vto.settings.ip_address,
            "SubnetMask": vto.settings.netmask,
            "DefaultGateway": vto.settings.gateway,
        }
    },
    "FacadeLayout": lambda vto: vto.facade.to_json(),
    "VTOInfo": lambda vto: {"Model": vto.facade.model, "Email": vto.settings.email},
}


def read_table(vto: DoorStation, name: str) -> Any:
    """One config table by name, or a VtoError listing the names."""
    if name not in TABLES:
        raise VtoError(f"unknown config {name!r}; one of {', '.join(TABLES)}")
    return TABLES[name](vto)


def _bool(value: object) -> bool:
    text = str(value).strip().lower()
    if text not in ("true", "false"):
        raise VtoError(f"expected true or false, not {value!r}")
    return text == "true"


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise VtoError(f"expected an integer, not {value!r}") from None


_ACCESS_FIELDS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "UnlockHoldInterval": ("unlock_hold_ms", _int),
    "CloseTimeout": ("close_timeout_s", _int),
    "SensorEnable": ("sensor_enabled", _bool),
    "BreakInAlarmEnable": ("break_in_alarm", _bool),
    "DoorNotClosedAlarmEnable": ("not_closed_alarm", _bool),
    "DuressAlarmEnable": ("duress_alarm", _bool),
    "CommonPassword": ("public_password", str),
    "DuressPassword": ("duress_password", str),
    "State": ("mode", lambda v: DoorMode(str(v))),
}
_VIDEO_TALK_FIELDS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "VTONumber": ("vto_number", str),
    "SystemType": ("system_type", lambda v: SystemType(str(v))),
    "BuildingNo": ("building_no", str),
    "UnitNo": ("unit_no", str),
    "RingTime": ("access.ring_timeout_s", _int),
    "MaxTalkTime": ("access.max_talk_s", _int),
}


_SIP_FIELDS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "SIPServerEnable": ("server_enabled", _bool),
    "ServerType": ("server_type", str),
    "SIPServer": ("address", str),
    "SIPServerPort": ("port", _int),
    "SIPDomain": ("domain", str),
    "UserID": ("login_user", str),
    "AuthID": ("login_user", str),
    "SIPServerPassword": ("login_password", str),
}


def _apply_sip(settings: VtoSettings, values: dict[Any, Any]) -> None:
    """``SIP.*`` as the platform writes it (2.2): naming a server makes this unit its UA."""
    _apply(settings.sip, values, _SIP_FIELDS)
    if "SIPServer" in values and "SIPServerEnable" not in values:
        settings.sip.server_enabled = False
    if not settings.sip.server_enabled and "ServerType" not in values:
        settings.sip.server_type = "Express/DSS"
    if settings.sip.server_enabled:
        settings.sip.server_type = "VTO"
        settings.building_no = settings.unit_no = ""


_NETWORK_FIELDS: dict[str, tuple[str, Callable[[object], Any]]] = {
    "IPAddress": ("ip_address", str),
    "SubnetMask": ("netmask", str),
    "DefaultGateway": ("gateway", str),
}


def apply_set_config(vto: DoorStation, items: Mapping[str, str]) -> None:
    """``setConfig`` paths for AccessControl, VideoTalk, SIP and Network; all or nothing."""
    tree = unflatten_config(items)
    writable = "AccessControl, VideoTalk, SIP or Network"

    def change(settings: VtoSettings) -> None:
        for name, value in tree.items():
            if name == "AccessControl":
                door = value.get(0) if isinstance(value, dict) else None
                if not isinstance(door, dict):
                    raise VtoError("write AccessControl[0].Field=value")
                _apply(settings.access, door, _ACCESS_FIELDS)
            elif name == "VideoTalk" and isinstance(value, dict):
                _apply(settings, value, _VIDEO_TALK_FIELDS)
            elif (
                name == "Network"
                and isinstance(value, dict)
                and isinstance(value.get("eth0"), dict)
            ):
                _apply(settings, value["eth0"], _NETWORK_FIELDS)
            elif name == "SIP" and isinstance(value, dict):
                _apply_sip(settings, value)
            else:
                raise VtoError(f"config {name!r} cannot be written; {writable}")

    try:
        vto.update_settings(change)
    except ValueError as exc:
        raise VtoError(str(exc)) from exc
    if "SIP" in tree:
        vto.sip_settings_changed()


def _apply(
    target: Any, values: dict[Any, Any], fields: dict[str, tuple[str, Callable[[object], Any]]]
) -> None:
    for key, raw in values.items():
        if key not in fields:
            raise VtoError(f"unknown field {key!r}; one of {', '.join(fields)}")
        path, convert = fields[key]
        owner = target
        *parents, attribute = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        setattr(owner, attribute, convert(raw))
