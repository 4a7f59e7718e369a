"""Pydantic schemas of the device registry; passwords go in, never out."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openpss.platform.devices.models import DEFAULT_PORT
from openpss.platform.listing import ListQuery

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
DEVICE_KINDS = ("access", "attendance", "vto", "vth", "camera")


def validate_host(value: str) -> str:
    """Accept an IPv4 address, an IPv6 address or a domain name; raise ValueError otherwise."""
    host = value.strip()
    if not host:
        raise ValueError("IP/Domain is required")
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        pass
    name = host.rstrip(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise ValueError(
            f"'{value}' is not an IPv4 address, an IPv6 address or a domain name "
            "(letters, digits and hyphens, dot-separated)"
        )
    return name.lower()


class _DeviceFields(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("host", check_fields=False)
    @classmethod
    def _host(cls, value: str | None) -> str | None:
        return None if value is None else validate_host(value)


class DeviceCreate(_DeviceFields):
    """A device added by IP/Domain (attendance manual 3.4)."""

    name: str = Field(min_length=1, max_length=64, description="device name")
    host: str = Field(max_length=255, description="IP address or domain name")
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, description="port, 37777 by default")
    username: str = Field(min_length=1, max_length=64, description="login user name")
    password: str = Field(min_length=1, max_length=128, description="login password")
    kind: str = Field("access", pattern="^(" + "|".join(DEVICE_KINDS) + ")$")
    door_count: int = Field(1, ge=1, le=8, description="number of doors (access devices)")
    remark: str = Field("", max_length=255)


class DeviceUpdate(_DeviceFields):
    """Fields to change; a missing password keeps the stored one."""

    name: str | None = Field(None, min_length=1, max_length=64)
    host: str | None = Field(None, max_length=255)
    port: int | None = Field(None, ge=1, le=65535)
    username: str | None = Field(None, min_length=1, max_length=64)
    password: str | None = Field(None, min_length=1, max_length=128)
    kind: str | None = Field(None, pattern="^(" + "|".join(DEVICE_KINDS) + ")$")
    door_count: int | None = Field(None, ge=1, le=8)
    remark: str | None = Field(None, max_length=255)


class DeviceRead(BaseModel):
    """A device as listed by the device manager (no password, only whether one is set)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    host: str
    port: int
    username: str
    password_set: bool
    kind: str
    door_count: int
    remark: str
    device_type: str
    serial: str
    firmware: str
    online: bool
    last_seen: dt.datetime | None
    last_checked: dt.datetime | None
    last_error: str
    created_at: dt.datetime


class DeviceQuery(ListQuery):
    """The device list: text search and the column it is sorted by."""

    search: str = Field("", max_length=64, description="part of the name, IP/Domain or serial")
    sort: Literal["name", "host", "kind", "online"] = Field("name", description="sort column")


class DevicePage(BaseModel):
    """One page of the device list."""

    total: int
    items: list[DeviceRead]


class ImportResult(BaseModel):
    """What a device-list import did."""

    created: int
    updated: int
    without_password: list[str]
