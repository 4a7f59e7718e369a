"""Exceptions raised by the image pipeline."""

from __future__ import annotations


class ImagingError(ValueError):
    """A setting, frame or calibration the pipeline refuses; the message says what to fix."""


class FFCError(ImagingError):
    """A flat-field calibration that cannot be computed or applied."""
