"""The feature table and the GenICam XML generated from it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from openpss.devices.camera.features import build_feature_table
from openpss.protocols.genicam import (
    FEATURE_BASE,
    Category,
    DeviceInfo,
    EnumEntry,
    Feature,
    FeatureTable,
    Kind,
    generate_xml,
)

NS = {"g": "http://www.genicam.org/GenApi/Version_1_1"}
CATEGORIES = (Category("Control", "Things"),)


def _xml(table: FeatureTable) -> ET.Element:
    return ET.fromstring(generate_xml(table, DeviceInfo("openpss", "OPSS-GV2448C", "test")))


def _node(root: ET.Element, tag: str, name: str) -> ET.Element:
    node = root.find(f"g:{tag}[@Name='{name}']", NS)
    assert node is not None, f"{tag} {name} missing"
    return node


def test_addresses_are_allocated_in_feature_space_in_order() -> None:
    table = FeatureTable(
        [
            Feature("A", Kind.INTEGER, "Control", "a"),
            Feature("S", Kind.STRING, "Control", "s", length=6),
            Feature("F", Kind.FLOAT, "Control", "f", length=8, lockable=True),
            Feature("Boot", Kind.INTEGER, "Control", "b", 0x0938),
        ],
        CATEGORIES,
    )
    assert table["A"].address == FEATURE_BASE
    assert table["S"].address == FEATURE_BASE + 4
    assert table["F"].address == FEATURE_BASE + 12  # the 6-byte string is padded to 8
    assert table["F"].lock_address == FEATURE_BASE + 20
    assert table.aux_at(FEATURE_BASE + 20) == ("lock", table["F"])
    assert table["Boot"].is_bootstrap and table.at(0x0938) is None
    assert table.at(FEATURE_BASE + 4) is table["S"]


def test_duplicate_and_dangling_names_are_refused() -> None:
    with pytest.raises(ValueError, match="defined twice"):
        FeatureTable([Feature("A", Kind.INTEGER, "Control", "a")] * 2, CATEGORIES)
    with pytest.raises(ValueError, match="unknown features"):
        FeatureTable([Feature("A", Kind.INTEGER, "Control", "a", selects=("B",))], CATEGORIES)
    with pytest.raises(ValueError, match="unknown category"):
        FeatureTable([Feature("A", Kind.INTEGER, "Nowhere", "a")], CATEGORIES)


def test_xml_root_declares_schema_1_1_and_the_device() -> None:
    root = _xml(build_feature_table())
    assert root.tag == "{http://www.genicam.org/GenApi/Version_1_1}RegisterDescription"
    assert root.get("VendorName") == "openpss"
    assert root.get("ModelName") == "OPSS_GV2448C"
    assert root.get("StandardNameSpace") == "GEV"
    assert root.get("SchemaMajorVersion") == "1" and root.get("SchemaMinorVersion") == "1"
    assert _node(root, "Port", "Device") is not None


def test_every_feature_has_a_node_in_its_category_with_level_and_description() -> None:
    table = build_feature_table()
    root = _xml(table)
    for feature in table:
        tag = {Kind.STRING: "StringReg"}.get(feature.kind, feature.kind.value)
        node = _node(root, tag, feature.name)
        assert node.findtext("g:Visibility", namespaces=NS) == feature.visibility.value
        assert node.findtext("g:Description", namespaces=NS) == feature.description
        category = _node(root, "Category", feature.category)
        members = [p.text for p in category.findall("g:pFeature", NS)]
        assert feature.name in members


def test_width_has_live_maximum_increment_and_lock() -> None:
    table = build_feature_table()
    root = _xml(table)
    width = _node(root, "Integer", "Width")
    assert width.findtext("g:pMax", namespaces=NS) == "Width_Max"
    assert width.findtext("g:Inc", namespaces=NS) == "8"
    assert width.findtext("g:pIsLocked", namespaces=NS) == "Width_Locked"
    register = _node(root, "IntReg", "Width_Max")
    assert (
        int(register.findtext("g:Address", namespaces=NS) or "", 16) == table["Width"].max_address
    )
    assert register.findtext("g:AccessMode", namespaces=NS) == "RO"


def test_selectors_and_enumeration_entries() -> None:
    root = _xml(build_feature_table())
    selector = _node(root, "Enumeration", "TriggerSelector")
    selected = {p.text for p in selector.findall("g:pSelected", NS)}
    assert selected == {
        "TriggerMode",
        "TriggerSoftware",
        "TriggerSource",
        "TriggerActivation",
        "TriggerDelay",
    }
    source = _node(root, "Enumeration", "TriggerSource")
    entries = {e.get("Name"): e.findtext("g:Value", namespaces=NS) for e in source}
    assert {"Software": "0", "Line1": "1", "Line2": "2"}.items() <= entries.items()


def test_bootstrap_features_point_at_gige_vision_registers() -> None:
    root = _xml(build_feature_table())
    packet = _node(root, "MaskedIntReg", "GevSCPSPacketSize_Reg")
    assert packet.findtext("g:Address", namespaces=NS) == "0xD04"
    assert (packet.findtext("g:LSB", namespaces=NS), packet.findtext("g:MSB", namespaces=NS)) == (
        "31",
        "16",
    )
    heartbeat = _node(root, "IntReg", "GevHeartbeatTimeout_Reg")
    assert heartbeat.findtext("g:Address", namespaces=NS) == "0x938"
    assert (
        _node(root, "StringReg", "DeviceSerialNumber").findtext("g:Address", namespaces=NS)
        == "0xD8"
    )


def test_manual_ranges_are_in_the_table() -> None:
    table = build_feature_table()
    assert (table["AcquisitionFrameCount"].minimum, table["AcquisitionFrameCount"].maximum) == (
        1,
        255,
    )
    assert table["TriggerDelay"].maximum == 1_000_000.0 and table["TriggerDelay"].unit == "us"
    assert table["DigitalShift"].maximum == 4
    assert table["BalanceRatio"].maximum == 15.0
    assert table["Gamma"].maximum == 3.99998
    names = [e.name for e in table["TestImageSelector"].entries]
    assert names == [
        "Off",
        "MonoBar",
        "CheckBoard",
        "ObliqueMonoBar",
        "VerticalColorBar",
        "GradualColorBar",
        "HorizontalColorBar",
    ]
    display = [e.display_name for e in table["TestImageSelector"].entries]
    assert "Oblique Mono Bar" in display


def test_enum_entry_lookup() -> None:
    feature = Feature(
        "Mode", Kind.ENUMERATION, "Control", "m", entries=(EnumEntry("A", 0), EnumEntry("B", 5))
    )
    assert feature.entry("B").value == 5
    assert feature.entry_by_value(5) == EnumEntry("B", 5)
    assert feature.entry_by_value(1) is None
    with pytest.raises(KeyError):
        feature.entry("C")
