"""Register access errors raised by the camera model; the front-end maps them to GVCP status."""

from __future__ import annotations


class RegisterError(Exception):
    """A register read or write the camera refuses; the message says what to fix."""

    # GigE Vision 2.0, table "List of Standard Status Codes"
    gvcp_status: int = 0x8FFF  # GEV_STATUS_ERROR


class BadAddress(RegisterError):
    """No register (or not that many bytes) at this address."""

    gvcp_status = 0x8003  # GEV_STATUS_INVALID_ADDRESS


class AccessDenied(RegisterError):
    """The register exists but may not be changed now (locked by the current mode)."""

    gvcp_status = 0x8006  # GEV_STATUS_ACCESS_DENIED


class InvalidParameter(RegisterError):
    """The value is out of the feature's range or not one of its entries."""

    gvcp_status = 0x8002  # GEV_STATUS_INVALID_PARAMETER


class WriteProtect(RegisterError):
    """The register is read-only."""

    gvcp_status = 0x8004  # GEV_STATUS_WRITE_PROTECT
