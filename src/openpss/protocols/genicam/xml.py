"""GenICam XML (GenApi schema 1.1) generated from a FeatureTable."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from openpss.protocols.genicam.table import Access, Feature, FeatureTable, Kind, Visibility

SCHEMA_NS = "http://www.genicam.org/GenApi/Version_1_1"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
PORT = "Device"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The RegisterDescription attributes: who made the device and which XML version this is."""

    vendor_name: str
    model_name: str
    tooltip: str
    version: tuple[int, int, int] = (1, 0, 0)
    standard_namespace: str = "GEV"


def _sub(parent: ET.Element, tag: str, text: object | None = None) -> ET.Element:
    element = ET.SubElement(parent, tag)
    if text is not None:
        element.text = str(text)
    return element


def _identifier(text: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in text)
    return cleaned if cleaned and not cleaned[0].isdigit() else f"M_{cleaned}"


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else f"{float(value):.1f}"


class XmlWriter:
    """Builds the RegisterDescription element tree for one feature table."""

    def __init__(self, table: FeatureTable, info: DeviceInfo) -> None:
        self.table = table
        self.info = info
        self.root = ET.Element("RegisterDescription", self._root_attributes())

    def _root_attributes(self) -> dict[str, str]:
        major, minor, sub = self.info.version
        seed = f"{self.info.vendor_name}/{self.info.model_name}"
        return {
            "ModelName": _identifier(self.info.model_name),
            "VendorName": _identifier(self.info.vendor_name),
            "ToolTip": self.info.tooltip,
            "StandardNameSpace": self.info.standard_namespace,
            "SchemaMajorVersion": "1",
            "SchemaMinorVersion": "1",
            "SchemaSubMinorVersion": "0",
            "MajorVersion": str(major),
            "MinorVersion": str(minor),
            "SubMinorVersion": str(sub),
            "ProductGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, seed)).upper(),
            "VersionGuid": str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{major}.{minor}.{sub}")
            ).upper(),
            "xmlns": SCHEMA_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{SCHEMA_NS} {SCHEMA_NS}/GenApiSchema_Version_1_1.xsd",
        }

    def build(self) -> bytes:
        """The whole XML document as UTF-8 bytes."""
        self._categories()
        for feature in self.table:
            self._feature(feature)
        port = ET.SubElement(self.root, "Port", {"Name": PORT})
        _sub(port, "ToolTip", "The device's register space (GVCP READREG/WRITEREG/READMEM)")
        ET.indent(self.root, space="  ")
        body = ET.tostring(self.root, encoding="unicode", xml_declaration=False)
        return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode()

    # -- categories -------------------------------------------------------------------------
    def _categories(self) -> None:
        children: dict[str, list[str]] = {"Root": []}
        for category in self.table.categories:
            children.setdefault(category.parent, []).append(category.name)
            children.setdefault(category.name, [])
        for feature in self.table:
            children[feature.category].append(feature.name)
        root = ET.SubElement(self.root, "Category", {"Name": "Root", "NameSpace": "Standard"})
        for name in children["Root"]:
            _sub(root, "pFeature", name)
        for category in self.table.categories:
            node = ET.SubElement(self.root, "Category", {"Name": category.name})
            _sub(node, "ToolTip", category.description)
            _sub(node, "Description", category.description)
            _sub(node, "DisplayName", category.display_name or category.name)
            _sub(node, "Visibility", category.visibility.value)
            for name in children[category.name]:
                _sub(node, "pFeature", name)

    # -- features ---------------------------------------------------------------------------
    def _base(self, node: ET.Element, feature: Feature) -> None:
        _sub(node, "ToolTip", feature.description)
        _sub(node, "Description", feature.description)
        _sub(node, "DisplayName", feature.display_name or feature.name)
        _sub(node, "Visibility", feature.visibility.value)
        if feature.lockable:
            _sub(node, "pIsLocked", f"{feature.name}_Locked")

    def _feature(self, feature: Feature) -> None:
        builders = {
            Kind.INTEGER: self._integer,
            Kind.FLOAT: self._float,
            Kind.ENUMERATION: self._enumeration,
            Kind.BOOLEAN: self._boolean,
            Kind.COMMAND: self._command,
            Kind.STRING: self._string,
            Kind.REGISTER: self._register,
        }
        builders[feature.kind](feature)
        if feature.kind not in (Kind.STRING, Kind.REGISTER):
            self._value_register(feature)
        for kind, address in (
            ("Min", feature.min_address),
            ("Max", feature.max_address),
            ("Locked", feature.lock_address),
        ):
            if address is not None:
                self._int_reg(f"{feature.name}_{kind}", address, 4, Access.RO)

    def _selected(self, node: ET.Element, feature: Feature) -> None:
        for name in feature.selects:
            _sub(node, "pSelected", name)

    def _integer(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "Integer", {"Name": feature.name})
        self._base(node, feature)
        _sub(node, "pValue", f"{feature.name}_Reg")
        if feature.min_address is not None:
            _sub(node, "pMin", f"{feature.name}_Min")
        elif feature.minimum is not None:
            _sub(node, "Min", int(feature.minimum))
        if feature.max_address is not None:
            _sub(node, "pMax", f"{feature.name}_Max")
        elif feature.maximum is not None:
            _sub(node, "Max", int(feature.maximum))
        if feature.increment is not None:
            _sub(node, "Inc", feature.increment)
        if feature.unit:
            _sub(node, "Unit", feature.unit)
        _sub(node, "Representation", feature.representation or "Linear")
        self._selected(node, feature)

    def _float(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "Float", {"Name": feature.name})
        self._base(node, feature)
        _sub(node, "pValue", f"{feature.name}_Reg")
        _sub(node, "Min", _number(feature.minimum if feature.minimum is not None else -1e300))
        _sub(node, "Max", _number(feature.maximum if feature.maximum is not None else 1e300))
        if feature.unit:
            _sub(node, "Unit", feature.unit)
        _sub(node, "Representation", feature.representation or "Linear")
        _sub(node, "DisplayNotation", "Fixed")
        _sub(node, "DisplayPrecision", 5)

    def _enumeration(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "Enumeration", {"Name": feature.name})
        self._base(node, feature)
        for entry in feature.entries:
            # Plain entry names: Aravis matches entries by node name (no <Symbolic> support).
            item = ET.SubElement(node, "EnumEntry", {"Name": entry.name})
            if entry.description:
                _sub(item, "ToolTip", entry.description)
                _sub(item, "Description", entry.description)
            _sub(item, "DisplayName", entry.display_name or entry.name)
            _sub(item, "Value", entry.value)
        _sub(node, "pValue", f"{feature.name}_Reg")
        self._selected(node, feature)

    def _boolean(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "Boolean", {"Name": feature.name})
        self._base(node, feature)
        _sub(node, "pValue", f"{feature.name}_Reg")
        _sub(node, "OnValue", 1)
        _sub(node, "OffValue", 0)
        self._selected(node, feature)

    def _command(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "Command", {"Name": feature.name})
        self._base(node, feature)
        _sub(node, "pValue", f"{feature.name}_Reg")
        _sub(node, "CommandValue", feature.command_value)

    def _register_common(self, node: ET.Element, address: int, length: int, access: Access) -> None:
        _sub(node, "Address", f"0x{address:X}")
        _sub(node, "Length", length)
        _sub(node, "AccessMode", access.value)
        _sub(node, "pPort", PORT)
        _sub(node, "Cachable", "NoCache")

    def _string(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "StringReg", {"Name": feature.name})
        self._base(node, feature)
        assert feature.address is not None
        self._register_common(node, feature.address, feature.length, feature.access)

    def _register(self, feature: Feature) -> None:
        node = ET.SubElement(self.root, "Register", {"Name": feature.name})
        self._base(node, feature)
        assert feature.address is not None
        self._register_common(node, feature.address, feature.length, feature.access)

    def _value_register(self, feature: Feature) -> None:
        assert feature.address is not None
        name = f"{feature.name}_Reg"
        if feature.kind == Kind.FLOAT:
            node = ET.SubElement(self.root, "FloatReg", {"Name": name})
            _sub(node, "Visibility", Visibility.INVISIBLE.value)
            self._register_common(node, feature.address, feature.length, feature.access)
            _sub(node, "Endianess", "BigEndian")
        elif feature.bits is not None:
            node = ET.SubElement(self.root, "MaskedIntReg", {"Name": name})
            _sub(node, "Visibility", Visibility.INVISIBLE.value)
            self._register_common(node, feature.address, feature.length, feature.access)
            msb, lsb = feature.bits
            if msb == lsb:
                _sub(node, "Bit", lsb)
            else:
                _sub(node, "LSB", lsb)
                _sub(node, "MSB", msb)
            _sub(node, "Sign", "Signed" if feature.signed else "Unsigned")
            _sub(node, "Endianess", "BigEndian")
        else:
            self._int_reg(name, feature.address, feature.length, feature.access, feature.signed)

    def _int_reg(
        self, name: str, address: int, length: int, access: Access, signed: bool = False
    ) -> None:
        node = ET.SubElement(self.root, "IntReg", {"Name": name})
        _sub(node, "Visibility", Visibility.INVISIBLE.value)
        self._register_common(node, address, length, access)
        _sub(node, "Sign", "Signed" if signed else "Unsigned")
        _sub(node, "Endianess", "BigEndian")


def generate_xml(table: FeatureTable, info: DeviceInfo) -> bytes:
    """The GenICam XML describing every feature of the table."""
    return XmlWriter(table, info).build()
