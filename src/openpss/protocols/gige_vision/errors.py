"""The exception of the GigE Vision codecs (GVCP, GVSP)."""

from __future__ import annotations


class GigEVisionProtocolError(ValueError):
    """A GVCP or GVSP packet (or a value for one) that does not follow the wire format.

    A ValueError, so that callers that only know "bad input" still catch it.
    """
