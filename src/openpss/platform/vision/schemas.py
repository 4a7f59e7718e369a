"""Pydantic schemas of the vision domain."""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from openpss.platform.listing import ListQuery
from openpss.platform.vision.models import GVCP_PORT


def _check_ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 address such as 192.168.1.20") from None


class CameraCreate(BaseModel):
    """Add a camera by IP address (or from a discovery answer)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, description="name shown in the camera list")
    address: str = Field(description="IPv4 address of the camera's GVCP endpoint")
    port: int = Field(GVCP_PORT, ge=1, le=65535, description="GVCP UDP port (3956)")
    manufacturer: str = Field("", max_length=32)
    model_name: str = Field("", max_length=32)
    serial: str = Field("", max_length=16)
    user_name: str = Field("", max_length=16)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        return _check_ipv4(value)


class CameraUpdate(BaseModel):
    """Rename or move a camera."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=64)
    address: str | None = None
    port: int | None = Field(None, ge=1, le=65535)

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return None if value is None else _check_ipv4(value)


class CameraRead(BaseModel):
    """A camera of the list, with its connection state."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    address: str
    port: int
    manufacturer: str
    model_name: str
    serial: str
    user_name: str
    created_at: dt.datetime
    connected: bool = False


class DiscoveredCamera(BaseModel):
    """One answer to a discovery broadcast."""

    address: str
    port: int
    manufacturer: str
    model_name: str
    serial: str
    user_name: str
    known: bool = False


class FeatureWrite(BaseModel):
    """A feature value in its text form (numbers, true/false, enumeration entry names)."""

    model_config = ConfigDict(extra="forbid")

    value: str = Field(max_length=256)


class AcquisitionStart(BaseModel):
    """Play: Continuous, SingleFrame or MultiFrame with AcquisitionFrameCount 1-255."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["Continuous", "SingleFrame", "MultiFrame"] = "Continuous"
    count: int = Field(1, ge=1, le=255, description="frames for MultiFrame (manual 3.2: 1-255)")


class FFCCapture(BaseModel):
    """Capture the dark field (lens covered) or the bright field (even, unsaturated light)."""

    model_config = ConfigDict(extra="forbid")

    field: Literal["dark", "bright"]
    frames: int = Field(4, ge=1, le=16, description="frames averaged")


class FFCApply(BaseModel):
    """Compute the coefficients from the captured fields, upload them and enable FFC."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["point", "plane16"] = "point"


class CameraQuery(ListQuery):
    """The camera list: text search and the column it is sorted by."""

    search: str = Field("", max_length=64, description="part of the name, address or serial")
    sort: Literal["name", "address", "model"] = Field("name", description="sort column")


class CameraPage(BaseModel):
    """One page of the camera list."""

    total: int
    items: list[CameraRead]
