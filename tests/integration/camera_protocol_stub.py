"""A tiny stand-in camera model for front-end tests: a few registers and a gradient image."""

from __future__ import annotations

import struct

import numpy as np

from openpss.devices.camera.errors import AccessDenied, BadAddress, InvalidParameter
from openpss.devices.camera.frames import DeviceEvent, Frame

WIDTH, HEIGHT, PAYLOAD, ACQ_START, ACQ_STOP, FRAME_RATE = (
    0x10000,
    0x10004,
    0x10008,
    0x1000C,
    0x10010,
    0x10014,
)
MONO8 = 0x01080001


def _reg(name: str, address: int, access: str, extra: str = "") -> str:
    return (
        f'<IntReg Name="{name}"><Address>0x{address:x}</Address><Length>4</Length>'
        f"<AccessMode>{access}</AccessMode><pPort>Device</pPort>{extra}"
        "<Sign>Unsigned</Sign><Endianess>BigEndian</Endianess></IntReg>"
    )


def _integer(name: str, reg: str, visibility: str, limits: str = "") -> str:
    return (
        f'<Integer Name="{name}" NameSpace="Standard"><Visibility>{visibility}</Visibility>'
        f"<pValue>{reg}</pValue>{limits}</Integer>"
    )


def _command(name: str, reg: str) -> str:
    return (
        f'<Command Name="{name}" NameSpace="Standard"><pValue>{reg}</pValue>'
        "<CommandValue>1</CommandValue></Command>"
    )


FEATURES = ("Width", "Height", "PayloadSize", "AcquisitionStart", "AcquisitionStop")
XML = "\n".join(
    [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<RegisterDescription ModelName="Stub" VendorName="openpss" ToolTip="stub camera"',
        ' StandardNameSpace="None" SchemaMajorVersion="1" SchemaMinorVersion="1"',
        ' SchemaSubMinorVersion="0" MajorVersion="1" MinorVersion="0" SubMinorVersion="0"',
        ' ProductGuid="7e4a3a26-1f4c-4d7a-9d9e-0c7f6f0e0001"',
        ' VersionGuid="7e4a3a26-1f4c-4d7a-9d9e-0c7f6f0e0002"',
        ' xmlns="http://www.genicam.org/GenApi/Version_1_1"',
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
        ' xsi:schemaLocation="http://www.genicam.org/GenApi/Version_1_1"',
        " >",
        '<Category Name="Root" NameSpace="Standard">',
        *(f"<pFeature>{name}</pFeature>" for name in (*FEATURES, "AcquisitionFrameRate")),
        "</Category>",
        _integer("Width", "WidthReg", "Beginner", "<Min>8</Min><Max>4096</Max><Inc>8</Inc>"),
        _reg("WidthReg", WIDTH, "RW"),
        _integer("Height", "HeightReg", "Beginner", "<Min>8</Min><Max>4096</Max><Inc>2</Inc>"),
        _reg("HeightReg", HEIGHT, "RW"),
        _integer("AcquisitionFrameRate", "RateReg", "Expert", "<Min>1</Min><Max>1000</Max>"),
        _reg("RateReg", FRAME_RATE, "RW"),
        _integer("PayloadSize", "PayloadReg", "Expert"),
        _reg("PayloadReg", PAYLOAD, "RO", "<Cachable>NoCache</Cachable>"),
        _command("AcquisitionStart", "StartReg"),
        _reg("StartReg", ACQ_START, "WO"),
        _command("AcquisitionStop", "StopReg"),
        _reg("StopReg", ACQ_STOP, "WO"),
        '<Port Name="Device" NameSpace="Standard"/>',
        "</RegisterDescription>",
    ]
).encode()


class StubModel:
    """Registers Width/Height/PayloadSize/AcquisitionStart/Stop/FrameRate; gradient frames."""

    manufacturer = "openpss"
    model_name = "Stub"
    device_version = "0.1"
    serial = "STUB0001"

    def __init__(self, width: int = 64, height: int = 32, rate: int = 100) -> None:
        self.regs = {WIDTH: width, HEIGHT: height, FRAME_RATE: rate}
        self.acquiring = False
        self.next_ns = 0
        self.count = 0
        self.events: list[DeviceEvent] = []
        self.lines: list[tuple[str, bool, int]] = []

    @property
    def payload_size(self) -> int:
        return self.regs[WIDTH] * self.regs[HEIGHT]

    def genicam_xml(self) -> bytes:
        return XML

    def read(self, address: int, size: int) -> bytes:
        if address == PAYLOAD:
            return struct.pack(">I", self.payload_size)
        if address not in self.regs:
            raise BadAddress(f"no register at 0x{address:x}")
        return struct.pack(">I", self.regs[address])

    def write(self, address: int, data: bytes) -> None:
        value = struct.unpack(">I", data[:4])[0]
        if address == ACQ_START:
            self.acquiring, self.next_ns = True, 0
        elif address == ACQ_STOP:
            self.acquiring = False
        elif address in (WIDTH, HEIGHT):
            if self.acquiring:
                raise AccessDenied("Width/Height are locked while acquiring")
            if not 8 <= value <= 4096:
                raise InvalidParameter(f"{value} is outside 8-4096")
            self.regs[address] = value
        elif address == FRAME_RATE:
            self.regs[address] = value
        else:
            raise BadAddress(f"no register at 0x{address:x}")

    def poll(self, now_ns: int) -> list[Frame]:
        if not self.acquiring or now_ns < self.next_ns:
            return []
        self.next_ns = now_ns + 1_000_000_000 // self.regs[FRAME_RATE]
        self.count += 1
        w, h = self.regs[WIDTH], self.regs[HEIGHT]
        image = (np.arange(w * h, dtype=np.uint32) + self.count).astype(np.uint8)
        self.events.append(DeviceEvent(0x0002, now_ns))
        return [Frame(now_ns, w, h, 0, 0, MONO8, image.tobytes(), self.count)]

    def drain_events(self) -> list[DeviceEvent]:
        events, self.events = self.events, []
        return events

    def set_line_input(self, line: str, level: bool, at_ns: int) -> None:
        self.lines.append((line, level, at_ns))

    def output_levels(self) -> dict[str, bool]:
        return {"Line0": bool(self.lines and self.lines[-1][1])}

    def set(self, name: str, value: object) -> None:
        if name != "AcquisitionStop":
            raise KeyError(name)
        self.acquiring = False
