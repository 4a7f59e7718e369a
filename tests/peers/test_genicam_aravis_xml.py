"""Aravis parses our GenICam XML: arv-tool lists every feature of the table with its type.

Aravis's fake camera serves our XML (`-g`); only the XML is judged here (its registers are the
fake camera's). It runs in a private network namespace so nothing leaves this machine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from openpss.devices.camera.model import CameraModel
from openpss.protocols.genicam import Kind
from tests.support.peers import require_program

pytestmark = pytest.mark.peers

ARAVIS_HINT = "apt-get install aravis-tools aravis-tools-cli"
SCRIPT = """
ip link set lo up
arv-fake-gv-camera-0.8 -i 127.0.0.1 -g "$1" &
camera=$!
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  arv-tool-0.8 -a 127.0.0.1 features > "$2" 2>&1 && break
  sleep 0.5
done
kill $camera
"""
ARAVIS_TYPES = {
    Kind.INTEGER: "Integer",
    Kind.FLOAT: "Float",
    Kind.ENUMERATION: "Enumeration",
    Kind.BOOLEAN: "Boolean",
    Kind.COMMAND: "Command",
    Kind.STRING: "StringReg",
}


def test_arv_tool_lists_every_feature(tmp_path: Path) -> None:
    require_program("unshare", "apt-get install util-linux")
    require_program("arv-fake-gv-camera-0.8", ARAVIS_HINT)
    require_program("arv-tool-0.8", ARAVIS_HINT)
    camera = CameraModel(data_dir=None, width=64, height=32)
    xml, listing = tmp_path / "openpss.xml", tmp_path / "features.txt"
    xml.write_bytes(camera.genicam_xml())
    subprocess.run(
        ["unshare", "-n", "sh", "-c", SCRIPT, "sh", str(xml), str(listing)],
        check=True,
        timeout=60,
    )
    text = listing.read_text()
    listed = {name: kind for kind, name in re.findall(r"^\s*(\w+)\s*: \[\w+\] '(\w+)'", text, re.M)}
    for feature in camera.table:
        assert listed.get(feature.name) == ARAVIS_TYPES[feature.kind], feature.name
    entries = re.findall(r"EnumEntry\s*: '(\w+)'", text)
    assert {"Continuous", "SingleFrame", "MultiFrame", "RisingEdge", "BayerRG8"} <= set(entries)
    assert "'AcquisitionMode'" in text and "Category    : 'AcquisitionControl'" in text
