"""A GigE Vision camera seen from the application: GVCP client + GenICam node map + GVSP receiver.

The node map is the EMVA `genicam` package's GenApi, loaded from the XML the first URL points to,
with our GVCP client as its port.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from genicam.genapi import AbstractPort, EAccessMode, NodeMap

from openpss.protocols.gige_vision.bootstrap import (
    GVCP_CAP_PACKETRESEND,
    GVCP_CAPABILITY,
    GVSP_CONFIG_64BIT_BLOCK_ID,
    GVSP_CONFIGURATION,
    SCDA0,
    SCP0,
    SCPS0,
    SCPS_DO_NOT_FRAGMENT,
)
from openpss.protocols.gige_vision.client import GvcpClient, GvcpError
from openpss.protocols.gige_vision.gvcp import GVCP_PORT
from openpss.protocols.gige_vision.receiver import GvspReceiver, ReceivedFrame

logger = logging.getLogger(__name__)


class GvcpPort(AbstractPort):
    """GenApi port backed by a GVCP client: register nodes become READMEM/WRITEMEM."""

    def __init__(self, client: GvcpClient) -> None:
        super().__init__()
        self.client = client

    def read(self, address: int, length: int) -> bytes:
        """Read `length` bytes of device memory (single registers use READREG)."""
        if length == 4 and address % 4 == 0:
            return self.client.read_register(address).to_bytes(4, "big")
        return self.client.read_memory(address, length)

    def write(self, address: int, value: bytes) -> None:
        """Write bytes to device memory (single registers use WRITEREG)."""
        data = bytes(value)
        if len(data) == 4 and address % 4 == 0:
            self.client.write_register(address, int.from_bytes(data, "big"))
        else:
            self.client.write_memory(address, data)

    def get_access_mode(self) -> Any:
        """The port is always readable and writable; the device enforces privileges."""
        return EAccessMode.RW


def load_node_map(client: GvcpClient) -> tuple[NodeMap, GvcpPort]:
    """Read the device XML through GVCP and connect a NodeMap to it."""
    name, data = client.genicam_xml()
    node_map = NodeMap()
    if name.lower().endswith(".zip") or data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml_name = next(n for n in archive.namelist() if n.lower().endswith(".xml"))
            text = archive.read(xml_name).decode("utf-8")
    else:
        text = data.rstrip(b"\0").decode("utf-8")
    node_map.load_xml_from_string(text)
    port = GvcpPort(client)
    node_map.connect(port, "Device")
    return node_map, port


class GigECamera:
    """Control and stream one GigE Vision device."""

    def __init__(
        self, address: str, *, port: int = GVCP_PORT, control: bool = True, exclusive: bool = False
    ) -> None:
        self.address = address
        self.client = GvcpClient(address, port=port)
        self.node_map, self.port = load_node_map(self.client)
        self.receiver: GvspReceiver | None = None
        if control:
            self.client.take_control(exclusive=exclusive)

    def close(self) -> None:
        """Stop streaming, release control, close sockets."""
        self.stop_stream()
        self.client.close()

    def __enter__(self) -> GigECamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- features

    def node(self, name: str) -> Any:
        """A feature node by name (raises KeyError with a clear message)."""
        try:
            return self.node_map.get_node(name)
        except Exception as exc:
            raise KeyError(f"the camera has no feature {name!r}") from exc

    def get(self, name: str) -> Any:
        """Current value of a feature (enumerations as their symbolic name)."""
        node = self.node(name)
        if (
            hasattr(node, "to_string") and node.node.principal_interface_type == 9
        ):  # intfIEnumeration
            return node.to_string()
        return node.value

    def set(self, name: str, value: str) -> None:
        """Set a feature from its text form (int, float, bool, enum entry)."""
        node = self.node(name)
        node.from_string(value)

    def execute(self, name: str) -> None:
        """Execute a Command feature."""
        self.node(name).execute()

    # ----------------------------------------------------------------- streaming

    def start_stream(
        self, *, packet_size: int = 1500, n_buffers: int = 8, extended_id: bool = False
    ) -> GvspReceiver:
        """Configure stream channel 0 towards a new receiver and start it (not the acquisition)."""
        self.stop_stream()
        config = self.client.read_register(GVSP_CONFIGURATION)
        wanted = (
            config | GVSP_CONFIG_64BIT_BLOCK_ID
            if extended_id
            else config & ~GVSP_CONFIG_64BIT_BLOCK_ID
        )
        if wanted != config:
            self.client.write_register(GVSP_CONFIGURATION, wanted)
        self.client.write_register(SCPS0, SCPS_DO_NOT_FRAGMENT | packet_size)
        payload = int(self.node("PayloadSize").value)
        receiver = GvspReceiver(
            bind_host=self.client.local_address[0],
            payload_size=payload,
            packet_size=packet_size,
            n_buffers=n_buffers,
            extended_id=extended_id,
            request_resend=self._resend_requester(extended_id),
        )
        host = self.client.local_address[0]
        self.client.write_register(SCDA0, _ip_int(host))
        self.client.write_register(SCP0, receiver.port)
        receiver.start()
        self.receiver = receiver
        return receiver

    def _resend_requester(self, extended_id: bool) -> Callable[[int, int, int], None] | None:
        """PACKETRESEND sender, or None when the device's GVCP capability lacks it."""
        if not self.client.read_register(GVCP_CAPABILITY) & GVCP_CAP_PACKETRESEND:
            logger.info(
                "%s does not support PACKETRESEND; lost packets fail their frame", self.address
            )
            return None

        def request(block: int, first: int, last: int) -> None:
            self.client.packet_resend(block, first, last, extended=extended_id)

        return request

    def stop_stream(self) -> None:
        """Stop the receiver and clear the stream destination."""
        if self.receiver is not None:
            try:
                self.client.write_register(SCP0, 0)
            except (GvcpError, OSError) as exc:
                logger.debug("cannot clear stream port: %s", exc)
            self.receiver.stop()
            self.receiver = None

    def frames(self, count: int, *, timeout: float = 5.0) -> Iterator[ReceivedFrame]:
        """Yield `count` finished frames from the running receiver."""
        assert self.receiver is not None, "start_stream() first"
        for _ in range(count):
            yield self.receiver.get(timeout=timeout)


def _ip_int(text: str) -> int:
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d
