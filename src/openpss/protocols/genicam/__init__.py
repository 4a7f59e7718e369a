"""GenICam feature description: a feature table and the GenApi XML generated from it."""

from __future__ import annotations

from openpss.protocols.genicam.table import (
    FEATURE_BASE,
    Access,
    Category,
    EnumEntry,
    Feature,
    FeatureTable,
    Kind,
    Visibility,
)
from openpss.protocols.genicam.xml import DeviceInfo, generate_xml

__all__ = [
    "FEATURE_BASE",
    "Access",
    "Category",
    "DeviceInfo",
    "EnumEntry",
    "Feature",
    "FeatureTable",
    "Kind",
    "Visibility",
    "generate_xml",
]
